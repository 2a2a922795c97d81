import { OutboundDispatchers } from '../../src/http/dispatchers';
import { checkCaBundle, inspectClientCertificate, openClientCertificate, sealClientCertificate } from '../../src/security/client-tls';
import { egressPolicy } from '../../src/security/egress';
import { SecretBox } from '../../src/security/secret-box';
import { makeTestPki, type TestPki } from '../helpers/certificates';

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});

const box = new SecretBox(Buffer.alloc(32, 5));

describe('client certificates', () => {
  it('when the key belongs to the certificate, then its public facts are answered', () => {
    expect(inspectClientCertificate(pki.client)).toEqual({
      subject: 'CN=webhook-client',
      issuer: 'CN=ca',
      fingerprint_sha256: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/),
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('when the key is another one, garbage, or the certificate is missing, then the reason names no input', () => {
    expect(() => inspectClientCertificate({ cert: pki.client.cert, key: pki.server.key })).toThrow('key does not belong to cert');
    expect(() => inspectClientCertificate({ cert: pki.client.cert, key: 'secret-ish text' })).toThrow(/^key is not a PEM private key/);
    expect(() => inspectClientCertificate({ cert: 'nope', key: pki.client.key })).toThrow('cert must hold a PEM certificate');
    expect(() => checkCaBundle('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----')).toThrow('certificate 1 is not a valid X.509 certificate');
    expect(() => checkCaBundle(pki.ca + pki.otherCa)).not.toThrow();
  });

  it('when sealed, then it opens only for the same endpoint', () => {
    const sealed = sealClientCertificate(box, 'ep_1', pki.client);
    expect(sealed).not.toContain('PRIVATE KEY');
    expect(openClientCertificate(box, 'ep_1', sealed)).toEqual(pki.client);
    expect(() => openClientCertificate(box, 'ep_2', sealed)).toThrow();
  });
});

describe('outbound dispatchers', () => {
  it('when an endpoint has no TLS settings, then it shares the worker dispatcher; with some, it gets one of its own, kept until they change', async () => {
    const outbound = new OutboundDispatchers({ egress: egressPolicy({ NODE_ENV: 'test' }), connectTimeoutMs: 1000 });
    let opened = 0;
    const open = (sealed: string) => {
      opened++;
      return openClientCertificate(box, 'ep_1', sealed);
    };
    const sealed = sealClientCertificate(box, 'ep_1', pki.client);
    try {
      expect(outbound.forEndpoint('ep_1', { sealedClient: null, ca: null }, open)).toBe(outbound.shared);
      const own = outbound.forEndpoint('ep_1', { sealedClient: sealed, ca: pki.ca }, open);
      expect(own).not.toBe(outbound.shared);
      expect(outbound.forEndpoint('ep_1', { sealedClient: sealed, ca: pki.ca }, open)).toBe(own);
      expect(opened).toBe(1);
      expect(outbound.forEndpoint('ep_1', { sealedClient: sealed, ca: pki.otherCa }, open)).not.toBe(own);
      expect(outbound.forEndpoint('ep_2', { sealedClient: null, ca: pki.ca }, open)).not.toBe(own);
      expect(outbound.proxied).toBe(false);
    } finally {
      await outbound.close();
    }
  });
});
