import { createHmac } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { secretKeyBytes, generateSecret } from '../../src/security/signing';
import { signatureHeaders } from '../../src/security/schemes';

const body = '{"id":"evt_1","type":"order.created","data":{"amount":12.5}}';
const a = { id: 'key_a', secret: generateSecret() };
const b = { id: 'key_b', secret: generateSecret() };
const svixHeaders = (h: Record<string, string>) => ({
  'svix-id': h['webhook-id']!,
  'svix-timestamp': h['webhook-timestamp']!,
  'svix-signature': h['webhook-signature']!,
});

describe('signatureHeaders', () => {
  it('when the scheme is x-signature, then it sends x-ts, x-nonce, hex HMAC-SHA512 of ts.nonce.body and x-key-id', () => {
    const h = signatureHeaders('x-signature', [a], { messageId: 'dlv_1', body, now: new Date(1_700_000_000_000), nonce: 'n1' });
    const expected = createHmac('sha512', secretKeyBytes(a.secret)!).update(`1700000000.n1.${body}`).digest('hex');
    expect(h).toEqual({ 'x-ts': '1700000000', 'x-nonce': 'n1', 'x-signature': expected, 'x-key-id': 'key_a' });
  });

  it('when the scheme is standard-webhooks, then the standardwebhooks and svix libraries verify it', () => {
    const h = signatureHeaders('standard-webhooks', [a], { messageId: 'dlv_1', body, now: new Date() });
    expect(h['webhook-id']).toBe('dlv_1');
    expect(h['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new StandardWebhook(a.secret).verify(body, h)).toEqual(JSON.parse(body));
    expect(new SvixWebhook(a.secret).verify(body, svixHeaders(h))).toEqual(JSON.parse(body));
  });

  it('when standard-webhooks signs with two keys, then each library verifies with either secret', () => {
    const h = signatureHeaders('standard-webhooks', [a, b], { messageId: 'dlv_2', body, now: new Date() });
    expect(h['webhook-signature']!.split(' ')).toHaveLength(2);
    for (const key of [a, b]) {
      expect(() => new StandardWebhook(key.secret).verify(body, h)).not.toThrow();
      expect(() => new SvixWebhook(key.secret).verify(body, svixHeaders(h))).not.toThrow();
    }
    expect(() => new StandardWebhook(generateSecret()).verify(body, h)).toThrow();
  });

  it('when the scheme is sha256, then X-Webhook-Signature is sha256=<hex HMAC-SHA256 of the body>, one per key', () => {
    const h = signatureHeaders('sha256', [a, b], { messageId: 'dlv_3', body, now: new Date() });
    const hex = (s: string) => createHmac('sha256', secretKeyBytes(s)!).update(body).digest('hex');
    expect(h).toEqual({ 'x-webhook-signature': `sha256=${hex(a.secret)} sha256=${hex(b.secret)}` });
  });

  it('when no key is given, then signing refuses', () => {
    expect(() => signatureHeaders('sha256', [], { messageId: 'x', body, now: new Date() })).toThrow(/no signing key/);
  });
});
