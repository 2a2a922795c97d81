import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { SecretBox } from './secret-box';

/** A client certificate and its private key, PEM: held opened only while a dispatcher is built. */
export interface ClientCertificate {
  cert: string;
  key: string;
}

/** What may be shown of a client certificate (never the key). */
export interface ClientCertificateInfo {
  subject: string;
  issuer: string;
  fingerprint_sha256: string;
  expires_at: string;
}

/** Every PEM certificate block of a bundle, in order. */
function pemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * Checks a client certificate (a chain may follow the leaf) and its private key, and that they
 * belong together. Returns what may be shown of it; throws with a reason that names no secret.
 */
export function inspectClientCertificate(input: ClientCertificate): ClientCertificateInfo {
  const [leaf] = pemCertificates(input.cert);
  if (!leaf) throw new Error('cert must hold a PEM certificate');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(leaf);
  } catch {
    throw new Error('cert is not a valid X.509 certificate');
  }
  let key;
  try {
    key = createPrivateKey(input.key);
  } catch {
    // The parser's message could quote the input: say only what is wrong.
    throw new Error('key is not a PEM private key (unencrypted PKCS#8, PKCS#1 or SEC1)');
  }
  if (!certificate.checkPrivateKey(key)) throw new Error('key does not belong to cert');
  return {
    subject: certificate.subject,
    issuer: certificate.issuer,
    fingerprint_sha256: certificate.fingerprint256,
    expires_at: new Date(certificate.validTo).toISOString(),
  };
}

/** Checks a CA bundle: one or more PEM certificates, each valid. Throws with the reason. */
export function checkCaBundle(pem: string): void {
  const blocks = pemCertificates(pem);
  if (blocks.length === 0) throw new Error('must hold at least one PEM certificate');
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch {
      throw new Error(`certificate ${i + 1} is not a valid X.509 certificate`);
    }
  });
}

const context = (endpointId: string) => `client-tls:${endpointId}`;

/** The certificate and key sealed together, bound to the endpoint. */
export function sealClientCertificate(box: SecretBox, endpointId: string, input: ClientCertificate): string {
  return box.seal(JSON.stringify({ cert: input.cert, key: input.key }), context(endpointId));
}

export function openClientCertificate(box: SecretBox, endpointId: string, sealed: string): ClientCertificate {
  return JSON.parse(box.open(sealed, context(endpointId))) as ClientCertificate;
}

/** Re-sealed under the current master key (key rotation). */
export function resealClientCertificate(box: SecretBox, endpointId: string, sealed: string): string {
  return box.reseal(sealed, context(endpointId));
}
