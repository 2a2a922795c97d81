import { generateSecret } from '../../src/security/signing';
import { HMAC_SCHEMES, type SignatureScheme } from '../../src/domain/signature-schemes';
import { generateAsymmetricSecret, publicKeyOf } from '../../src/security/ed25519';
import { signatureHeaders } from '../../src/security/schemes';
import { verify, WebhookVerificationError } from '../../src/security/verify';

const body = '{"id":"evt_1","type":"order.created","data":{"n":1}}';
const now = new Date(1_700_000_000_000);
const oldKey = { id: 'key_old', secret: generateSecret() };
const newKey = { id: 'key_new', secret: generateSecret() };

const sign = (scheme: SignatureScheme, keys = [newKey], at = now) => signatureHeaders(scheme, keys, { messageId: 'dlv_1', body, now: at });

function failure(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookVerificationError);
    return (err as WebhookVerificationError).code;
  }
  throw new Error('expected verification to fail');
}

describe.each(HMAC_SCHEMES)('verify, scheme %s', (scheme) => {
  it('when the request is signed with the secret, then it verifies and names the secret', () => {
    expect(verify(scheme, sign(scheme), body, [newKey.secret], 300, now)).toMatchObject({ index: 0 });
    expect(verify(scheme, sign(scheme), Buffer.from(body), [oldKey.secret, newKey.secret], 300, now).index).toBe(1);
  });

  it('when the body was changed, then it fails with signature_mismatch', () => {
    expect(failure(() => verify(scheme, sign(scheme), body.replace('1', '2'), [newKey.secret], 300, now))).toBe('signature_mismatch');
  });

  it('when checked with another key, then it fails with signature_mismatch', () => {
    expect(failure(() => verify(scheme, sign(scheme), body, [oldKey.secret], 300, now))).toBe('signature_mismatch');
  });

  it('when a grace period sends one signature per key, then either secret verifies it', () => {
    const headers = sign(scheme, [newKey, oldKey]);
    expect(verify(scheme, headers, body, [oldKey.secret], 300, now).index).toBe(0);
    expect(verify(scheme, headers, body, [newKey.secret], 300, now).index).toBe(0);
  });

  it('when the signature header is missing, then it fails with missing_header', () => {
    const headers = Object.fromEntries(Object.entries(sign(scheme)).filter(([k]) => !/signature/.test(k)));
    expect(failure(() => verify(scheme, headers, body, [newKey.secret], 300, now))).toBe('missing_header');
  });

  it('when headers come as a fetch Headers object with other casing, then it still verifies', () => {
    const headers = new Headers(Object.entries(sign(scheme)).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verify(scheme, headers, body, [newKey.secret], 300, now).index).toBe(0);
  });
});

describe.each(['x-signature', 'standard-webhooks'] as const)('verify timestamps, scheme %s', (scheme) => {
  it('when the timestamp is older than the tolerance, then it fails with timestamp_out_of_window', () => {
    const headers = sign(scheme, [newKey], new Date(now.getTime() - 301_000));
    expect(failure(() => verify(scheme, headers, body, [newKey.secret], 300, now))).toBe('timestamp_out_of_window');
    expect(verify(scheme, headers, body, [newKey.secret], 400, now).timestamp).toBe(1_700_000_000 - 301);
  });

  it('when the timestamp is not a number, then it fails with invalid_timestamp', () => {
    const headers = { ...sign(scheme), 'x-ts': 'soon', 'webhook-timestamp': 'soon' };
    expect(failure(() => verify(scheme, headers, body, [newKey.secret], 300, now))).toBe('invalid_timestamp');
  });
});

describe('verify, other input', () => {
  it('when the sha256 scheme is verified long after sending, then no window applies (it signs no timestamp)', () => {
    expect(verify('sha256', sign('sha256'), body, [newKey.secret], 1, new Date()).timestamp).toBeNull();
  });

  it('when a secret is not a whsec_ secret, then it fails with invalid_secret', () => {
    expect(failure(() => verify('sha256', sign('sha256'), body, ['plain-text'], 300, now))).toBe('invalid_secret');
  });

  it('when the scheme is unknown, then it fails with unknown_scheme', () => {
    expect(failure(() => verify('md5' as SignatureScheme, sign('sha256'), body, [newKey.secret], 300, now))).toBe('unknown_scheme');
  });

  it('when the x-signature nonce was swapped, then it fails with signature_mismatch', () => {
    const headers = { ...sign('x-signature'), 'x-nonce': 'other' };
    expect(failure(() => verify('x-signature', headers, body, [newKey.secret], 300, now))).toBe('signature_mismatch');
  });
});

describe('verify, scheme standard-webhooks-v1a (ed25519)', () => {
  const scheme = 'standard-webhooks-v1a';
  const oldSk = { id: 'key_old', secret: generateAsymmetricSecret() };
  const newSk = { id: 'key_new', secret: generateAsymmetricSecret() };
  const [oldPk, newPk] = [publicKeyOf(oldSk.secret), publicKeyOf(newSk.secret)];

  it('when signed with the secret, then the public key verifies it and names the key', () => {
    const headers = sign(scheme, [newSk]);
    expect(headers['webhook-signature']).toMatch(/^v1a,/);
    expect(verify(scheme, headers, body, [oldPk, newPk], 300, now)).toEqual({ index: 1, timestamp: 1_700_000_000 });
  });

  it('when a grace period sends one signature per key, then either public key verifies it', () => {
    const headers = sign(scheme, [newSk, oldSk]);
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verify(scheme, headers, body, [oldPk], 300, now).index).toBe(0);
    expect(verify(scheme, headers, body, [newPk], 300, now).index).toBe(0);
  });

  it('when the body, the id or the key differ, then it fails with signature_mismatch', () => {
    const headers = sign(scheme, [newSk]);
    expect(failure(() => verify(scheme, headers, body.replace('1', '2'), [newPk], 300, now))).toBe('signature_mismatch');
    expect(failure(() => verify(scheme, { ...headers, 'webhook-id': 'dlv_2' }, body, [newPk], 300, now))).toBe('signature_mismatch');
    expect(failure(() => verify(scheme, headers, body, [oldPk], 300, now))).toBe('signature_mismatch');
  });

  it('when given an HMAC signature or a secret instead of a public key, then it refuses', () => {
    expect(failure(() => verify(scheme, sign('standard-webhooks'), body, [newPk], 300, now))).toBe('signature_mismatch');
    expect(failure(() => verify(scheme, sign(scheme, [newSk]), body, [newSk.secret], 300, now))).toBe('invalid_public_key');
  });

  it('when the timestamp is out of the window, then it fails with timestamp_out_of_window', () => {
    const headers = sign(scheme, [newSk], new Date(now.getTime() - 301_000));
    expect(failure(() => verify(scheme, headers, body, [newPk], 300, now))).toBe('timestamp_out_of_window');
  });
});
