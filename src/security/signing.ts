import { createHmac, randomBytes } from 'node:crypto';

/** Prefix of endpoint secrets, as in Standard Webhooks and Svix. */
export const SECRET_PREFIX = 'whsec_';
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

/** A new endpoint secret: `whsec_` followed by base64 of 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/**
 * The HMAC key of a secret: the base64-decoded bytes after `whsec_` (the Standard Webhooks
 * convention, used for every scheme). Returns null when the secret is not in that form.
 */
export function secretKeyBytes(secret: string): Buffer | null {
  if (!secret.startsWith(SECRET_PREFIX)) return null;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return null;
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length < MIN_SECRET_BYTES || bytes.length > MAX_SECRET_BYTES) return null;
  return bytes;
}

/** A fresh nonce: 16 random bytes, hex. */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

/** The default scheme's signature: hex HMAC-SHA512 over `${ts}.${nonce}.${body}`. */
export function xSignature(key: Buffer, ts: number, nonce: string, body: string): string {
  return createHmac('sha512', key).update(`${ts}.${nonce}.${body}`).digest('hex');
}
