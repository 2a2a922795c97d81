import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
/** GCM's full tag, always: a shorter tag given to the decipher would be accepted and forgeable. */
export const AUTH_TAG_BYTES = 16;

/** Short, stable public id of a master key (first 12 hex digits of its SHA-256). */
export function masterKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/**
 * Encrypts secrets at rest with AES-256-GCM under the current master key; opens what was sealed
 * under it or under a previous master key. A sealed value is `keyId.iv.tag.ciphertext` (each
 * base64url; the key id in clear says which master key opens it). Values sealed before key ids
 * were written (`iv.tag.ciphertext`) are tried against every key.
 */
export class SecretBox {
  /** Id of the current master key, stored beside each ciphertext so the key can be rotated. */
  readonly keyId: string;
  private readonly keys: Map<string, Buffer>;

  /** `current` seals and opens; `previous` keys only open (secrets sealed before a rotation). */
  constructor(
    private readonly current: Buffer,
    previous: readonly Buffer[] = [],
  ) {
    for (const key of [current, ...previous]) if (key.length !== 32) throw new Error('master key must be 32 bytes');
    this.keyId = masterKeyId(current);
    this.keys = new Map([current, ...previous].map((key) => [masterKeyId(key), key]));
  }

  /**
   * A 32-byte key for one `purpose`, derived from the current master key (HKDF-SHA256): MACs that
   * outlive a restart (a master key rotation makes them new).
   */
  deriveKey(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.current, Buffer.alloc(0), purpose, 32));
  }

  /** Returns `keyId.iv.tag.ciphertext`. `context` is bound as associated data. */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.current, iv, { authTagLength: AUTH_TAG_BYTES });
    cipher.setAAD(Buffer.from(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [this.keyId, ...[iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url'))].join('.');
  }

  /** Reverses {@link seal}; throws when the data or its context was tampered with, or the key is unknown. */
  open(sealed: string, context: string): string {
    const parts = sealed.split('.');
    if (parts.length === 4) {
      const key = this.keys.get(parts[0]!);
      if (!key) throw new Error(`secret sealed under master key ${parts[0]}, which is neither MASTER_KEY nor in MASTER_KEY_PREVIOUS`);
      return decrypt(key, parts.slice(1), context);
    }
    if (parts.length !== 3) throw new Error('malformed sealed secret');
    let last: unknown;
    for (const key of this.keys.values()) {
      try {
        return decrypt(key, parts, context);
      } catch (err) {
        last = err;
      }
    }
    throw last instanceof Error ? last : new Error('sealed secret could not be opened');
  }

  /** True when `sealed` is already under the current master key (re-sealing it would change nothing). */
  isCurrent(sealed: string): boolean {
    return sealed.startsWith(`${this.keyId}.`) && sealed.split('.').length === 4;
  }

  /** The same secret sealed under the current master key (a fresh IV); as is when already current. */
  reseal(sealed: string, context: string): string {
    return this.isCurrent(sealed) ? sealed : this.seal(this.open(sealed, context), context);
  }
}

function decrypt(key: Buffer, [iv, tag, ciphertext]: string[], context: string): string {
  const [ivBytes, tagBytes, data] = [iv, tag, ciphertext].map((part) => Buffer.from(part ?? '', 'base64url'));
  if (ivBytes!.length !== IV_BYTES || tagBytes!.length !== AUTH_TAG_BYTES) throw new Error('malformed sealed secret');
  const decipher = createDecipheriv(ALGORITHM, key, ivBytes!, { authTagLength: AUTH_TAG_BYTES });
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(tagBytes!);
  return Buffer.concat([decipher.update(data!), decipher.final()]).toString('utf8');
}

/** Parses a master key given as 64 hex characters or base64 of 32 bytes. */
export function parseMasterKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new Error('MASTER_KEY must be 32 bytes, given as 64 hex characters or base64');
  }
  return key;
}

/** Comma-separated keys (MASTER_KEY_PREVIOUS, TEMPORAL_CODEC_PREVIOUS_KEYS), each parsed. */
export function parseKeyList(text: string | undefined): Buffer[] {
  return (text ?? '').split(',').filter((k) => k.trim() !== '').map(parseMasterKey);
}
