import { randomBytes } from 'node:crypto';
import { openKey } from '../../src/db/signing-keys-repo';
import { SecretBox } from '../../src/security/secret-box';

const scope = { type: 'endpoint' as const, id: 'ep_1' };
const sealedFor = (box: SecretBox, id: string, secret: string) => ({ id, ciphertext: box.seal(secret, `endpoint:ep_1:${id}`) });

describe('when an attempt opens the key it signs with', () => {
  it('then the same sealed key is decrypted once and remembered, and another one is decrypted anew', () => {
    const box = new SecretBox(randomBytes(32));
    const opens = jest.spyOn(box, 'open');
    const row = sealedFor(box, 'key_1', 'whsec_one');
    expect(openKey(box, scope, row)).toEqual({ id: 'key_1', secret: 'whsec_one' });
    expect(openKey(box, scope, { ...row })).toEqual({ id: 'key_1', secret: 'whsec_one' });
    expect(opens).toHaveBeenCalledTimes(1);

    // A rotation's new key, and the same key re-sealed (another text), are opened.
    expect(openKey(box, scope, sealedFor(box, 'key_2', 'whsec_two')).secret).toBe('whsec_two');
    expect(openKey(box, scope, sealedFor(box, 'key_1', 'whsec_one')).secret).toBe('whsec_one');
    expect(opens).toHaveBeenCalledTimes(3);
  });

  it('then a text bound to another scope or key id is refused every time, never served from memory', () => {
    const box = new SecretBox(randomBytes(32));
    const row = sealedFor(box, 'key_1', 'whsec_one');
    expect(openKey(box, scope, row).secret).toBe('whsec_one');
    // The same text read as another endpoint's key, or under another id: its context does not match.
    expect(() => openKey(box, { type: 'endpoint', id: 'ep_2' }, row)).toThrow();
    expect(() => openKey(box, scope, { ...row, id: 'key_9' })).toThrow();
    expect(() => openKey(box, { type: 'endpoint', id: 'ep_2' }, row)).toThrow();
  });

  it('then a tampered text throws each time it is read', () => {
    const box = new SecretBox(randomBytes(32));
    const row = sealedFor(box, 'key_1', 'whsec_one');
    const parts = row.ciphertext.split('.');
    const last = parts[3]!;
    parts[3] = (last[0] === 'A' ? 'B' : 'A') + last.slice(1);
    const tampered = { ...row, ciphertext: parts.join('.') };
    expect(() => openKey(box, scope, tampered)).toThrow();
    expect(() => openKey(box, scope, tampered)).toThrow();
  });

  it('then a box with other master keys does not see what another box opened', () => {
    const first = new SecretBox(randomBytes(32));
    const other = new SecretBox(randomBytes(32));
    const row = sealedFor(first, 'key_1', 'whsec_one');
    expect(openKey(first, scope, row).secret).toBe('whsec_one');
    expect(() => openKey(other, scope, row)).toThrow(/neither MASTER_KEY nor in MASTER_KEY_PREVIOUS/);
  });
});
