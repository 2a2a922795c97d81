import { listEndpointSecrets, replaceEndpointSecrets } from '../db/endpoints-repo';
import type { Db } from '../db/knex';
import { resealSigningKeys, type ResealFailure } from '../db/signing-keys-repo';
import { resealClientCertificate } from '../security/client-tls';
import { resealHeaders } from '../security/endpoint-headers';
import { maskUrl, resealUrl, sealUrl } from '../security/endpoint-url';
import type { SecretBox } from '../security/secret-box';

export interface ResealOut {
  /** Id of the master key everything is sealed under now. */
  keyId: string;
  signingKeys: number;
  /** Endpoints whose sensitive header values or URL were re-sealed. */
  endpoints: number;
  /** URLs stored in clear that carry a secret (from before URLs were sealed), sealed now. */
  urlsSealed: number;
  failures: Array<ResealFailure & { table: 'signing_keys' | 'endpoints' }>;
}

/**
 * Re-seals every secret at rest under the current master key: signing keys (endpoints' and
 * sources'), sensitive header values and secret URLs, opening each with the master key it was
 * sealed under (MASTER_KEY or MASTER_KEY_PREVIOUS). Secret URLs stored in clear before URLs were
 * sealed are sealed too. Idempotent and resumable: what is already under the current key is left
 * alone, and each row is written on its own, only if unchanged since it was read.
 */
export async function resealSecrets(db: Db, box: SecretBox, options: { batch?: number; progress?: (line: string) => void } = {}): Promise<ResealOut> {
  const batch = options.batch ?? 200;
  const out: ResealOut = { keyId: box.keyId, signingKeys: 0, endpoints: 0, urlsSealed: 0, failures: [] };

  for (let after: string | null = null; ; ) {
    const page = await resealSigningKeys(db, box, after, batch);
    out.signingKeys += page.resealed;
    out.failures.push(...page.failures.map((f) => ({ ...f, table: 'signing_keys' as const })));
    if (page.lastId === null) break;
    after = page.lastId;
    options.progress?.(`signing keys: ${out.signingKeys} re-sealed so far (last ${after})`);
  }

  for (let after: string | null = null; ; ) {
    const page = await listEndpointSecrets(db, after, batch);
    if (page.length === 0) break;
    for (const endpoint of page) {
      try {
        const clearSecretUrl = endpoint.url_sealed === null && maskUrl(endpoint.url).secret;
        const url = clearSecretUrl ? sealUrl(box, endpoint.id, endpoint.url) : resealUrl(box, endpoint.id, endpoint);
        const headers = resealHeaders(box, endpoint.id, endpoint.headers ?? {});
        const clientTls = endpoint.client_tls_sealed === null ? null : resealClientCertificate(box, endpoint.id, endpoint.client_tls_sealed);
        const unchanged = url.url_sealed === endpoint.url_sealed && JSON.stringify(headers) === JSON.stringify(endpoint.headers ?? {}) && clientTls === endpoint.client_tls_sealed;
        if (unchanged) continue;
        if (await replaceEndpointSecrets(db, endpoint, { ...url, headers, client_tls_sealed: clientTls })) {
          out.endpoints++;
          if (clearSecretUrl) out.urlsSealed++;
        }
      } catch (err) {
        out.failures.push({ table: 'endpoints', id: endpoint.id, reason: (err as Error).message });
      }
    }
    after = page.at(-1)!.id;
    options.progress?.(`endpoints: ${out.endpoints} re-sealed so far (last ${after})`);
  }
  return out;
}
