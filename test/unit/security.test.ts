import { EncryptionCodec } from '../../src/temporal/payload-codec';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { SecretBox, parseMasterKey } from '../../src/security/secret-box';
import { signatureHeaders } from '../../src/security/schemes';
import { generateSecret, secretKeyBytes } from '../../src/security/signing';

describe('endpoint secrets', () => {
  it('when generated, then they are whsec_ + base64 of 32 bytes, and each is new', () => {
    const a = generateSecret();
    expect(secretKeyBytes(a)).toHaveLength(32);
    expect(generateSecret()).not.toBe(a);
  });

  it('when malformed, then they have no key bytes', () => {
    expect(secretKeyBytes('plain')).toBeNull();
    expect(secretKeyBytes('whsec_' + Buffer.alloc(8).toString('base64'))).toBeNull();
    expect(secretKeyBytes('whsec_not base64!')).toBeNull();
  });
});

describe("signatureHeaders('x-signature'), the default scheme deliveries sign with", () => {
  it('when signing, then x-signature is hex HMAC-SHA512 of ts.nonce.body under the decoded secret', () => {
    const secret = generateSecret();
    const headers = signatureHeaders('x-signature', [{ id: 'key_1', secret }], { messageId: 'dlv_1', body: '{"a":1}', now: new Date(1_700_000_000_000), nonce: 'n0nce' });
    const expected = createHmac('sha512', secretKeyBytes(secret)!).update('1700000000.n0nce.{"a":1}').digest('hex');
    expect(headers).toEqual({ 'x-ts': '1700000000', 'x-nonce': 'n0nce', 'x-signature': expected, 'x-key-id': 'key_1' });
  });

  it('when no nonce is given, then each attempt gets a fresh 32-hex-digit one', () => {
    const keys = [{ id: 'key_1', secret: generateSecret() }];
    const first = signatureHeaders('x-signature', keys, { messageId: 'dlv_1', body: 'x', now: new Date() });
    const second = signatureHeaders('x-signature', keys, { messageId: 'dlv_1', body: 'x', now: new Date() });
    expect(first['x-nonce']).toMatch(/^[0-9a-f]{32}$/);
    expect(second['x-nonce']).not.toBe(first['x-nonce']);
  });

  it('when two keys are valid, then one signature per key is sent, active first', () => {
    const keys = [{ id: 'key_a', secret: generateSecret() }, { id: 'key_b', secret: generateSecret() }];
    const headers = signatureHeaders('x-signature', keys, { messageId: 'dlv_1', body: 'x', now: new Date(), nonce: 'n' });
    const [first, second] = headers['x-signature']!.split(' ');
    expect(first).toBe(createHmac('sha512', secretKeyBytes(keys[0]!.secret)!).update(`${headers['x-ts']}.n.x`).digest('hex'));
    expect(second).toBe(createHmac('sha512', secretKeyBytes(keys[1]!.secret)!).update(`${headers['x-ts']}.n.x`).digest('hex'));
    expect(headers['x-key-id']).toBe('key_a key_b');
  });
});

describe('SecretBox', () => {
  const box = new SecretBox(parseMasterKey('11'.repeat(32)));

  it('when a secret is sealed, then it opens with the same context and hides the plaintext', () => {
    const sealed = box.seal('whsec_abc', 'endpoint:ep_1:key_1');
    expect(sealed).not.toContain('whsec_abc');
    expect(box.open(sealed, 'endpoint:ep_1:key_1')).toBe('whsec_abc');
  });

  it('when the context or ciphertext differ, then opening fails', () => {
    const sealed = box.seal('whsec_abc', 'endpoint:ep_1:key_1');
    expect(() => box.open(sealed, 'endpoint:ep_2:key_1')).toThrow();
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
    expect(() => box.open(tampered, 'endpoint:ep_1:key_1')).toThrow();
  });

  it('when the authentication tag is cut short, then opening fails (the tag length is pinned to 16 bytes)', () => {
    const key = parseMasterKey('11'.repeat(32));
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from('ctx'));
    const ciphertext = Buffer.concat([cipher.update('whsec_abc'), cipher.final()]);
    // A 4-byte tag: GCM without a pinned length accepts it, and 2^32 guesses forge one.
    const short = [iv, cipher.getAuthTag().subarray(0, 4), ciphertext].map((b) => b.toString('base64url')).join('.');
    expect(() => box.open(short, 'ctx')).toThrow();
    const parts = box.seal('whsec_abc', 'ctx').split('.');
    parts[parts.length - 2] = Buffer.from(parts[parts.length - 2]!, 'base64url').subarray(0, 4).toString('base64url');
    expect(() => box.open(parts.join('.'), 'ctx')).toThrow();
  });

  it('when the master key is rotated, then secrets sealed under the previous key open by key id and re-seal under the new one', () => {
    const oldKey = parseMasterKey('21'.repeat(32));
    const newKey = parseMasterKey('43'.repeat(32));
    const sealed = new SecretBox(oldKey).seal('whsec_rotate', 'ctx');
    const rotated = new SecretBox(newKey, [oldKey]);
    expect(rotated.open(sealed, 'ctx')).toBe('whsec_rotate');
    expect(rotated.isCurrent(sealed)).toBe(false);
    const resealed = rotated.reseal(sealed, 'ctx');
    expect(resealed.startsWith(`${rotated.keyId}.`)).toBe(true);
    expect(rotated.reseal(resealed, 'ctx')).toBe(resealed); // idempotent
    expect(new SecretBox(newKey).open(resealed, 'ctx')).toBe('whsec_rotate');
    expect(() => new SecretBox(newKey).open(sealed, 'ctx')).toThrow(/MASTER_KEY_PREVIOUS/);
  });

  it('when a secret was sealed before key ids were written, then every key is tried', () => {
    const oldKey = parseMasterKey('21'.repeat(32));
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', oldKey, iv);
    cipher.setAAD(Buffer.from('ctx'));
    const ciphertext = Buffer.concat([cipher.update('whsec_legacy'), cipher.final()]);
    const legacy = [iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url')).join('.');
    expect(new SecretBox(parseMasterKey('43'.repeat(32)), [oldKey]).open(legacy, 'ctx')).toBe('whsec_legacy');
  });

  it('when the master key is not 32 bytes, then it is refused', () => {
    expect(() => parseMasterKey('abcd')).toThrow(/32 bytes/);
    expect(parseMasterKey(Buffer.alloc(32, 7).toString('base64'))).toHaveLength(32);
  });
});

describe('EncryptionCodec', () => {
  const oldKey = Buffer.alloc(32, 1);
  const newKey = Buffer.alloc(32, 2);
  const payload = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"a":1}') };

  it('when payloads were encrypted under a key since rotated, then the previous key still decrypts them', async () => {
    const [sealed] = await new EncryptionCodec(oldKey).encode([payload]);
    expect(Buffer.from(sealed!.data!).includes(Buffer.from('{"a":1}'))).toBe(false);
    const [opened] = await new EncryptionCodec(newKey, [oldKey]).decode([sealed!]);
    expect(Buffer.from(opened!.data!).toString()).toBe('{"a":1}');
    await expect(new EncryptionCodec(newKey).decode([sealed!])).rejects.toThrow('unknown key');
  });

  it('when a payload is not encrypted, then decode passes it through; tampering is detected', async () => {
    const codec = new EncryptionCodec(newKey);
    expect(await codec.decode([payload])).toEqual([payload]);
    const [sealed] = await codec.encode([payload]);
    const data = Buffer.from(sealed!.data!);
    data[20] = data[20]! ^ 1;
    await expect(codec.decode([{ ...sealed!, data }])).rejects.toThrow();
  });
});
