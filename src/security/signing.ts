import { createHmac, randomBytes } from 'node:crypto';
import type { KeyKind } from '../domain/signature-schemes';
import { asymmetricSeed, generateAsymmetricSecret } from './ed25519';
import { randomHex } from '../random-pool';

/** Prefix of endpoint secrets, as in Standard Webhooks and Svix. */
export const SECRET_PREFIX = 'whsec_';
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

/** A new endpoint secret: `whsec_` followed by base64 of 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** A new secret of a keyring's kind: `whsec_…` (HMAC) or `whsk_…` (ed25519). */
export function generateSecretOf(kind: KeyKind): string {
  return kind === 'ed25519' ? generateAsymmetricSecret() : generateSecret();
}

/** Why a given secret cannot sign for a keyring of `kind`, or null when it can. */
export function secretProblem(secret: string, kind: KeyKind): string | null {
  if (kind === 'ed25519') return asymmetricSeed(secret) ? null : 'must be whsk_ followed by base64 of a 32-byte ed25519 seed (this scheme signs with ed25519)';
  return secretKeyBytes(secret) ? null : 'must be whsec_ followed by base64 of 24 to 64 bytes';
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

/** A fresh nonce: 16 random bytes, hex (from the pooled CSPRNG block: one per attempt, on the delivery path). */
export function newNonce(): string {
  return randomHex(16);
}

/** The default scheme's signature: hex HMAC-SHA512 over `${ts}.${nonce}.${body}`. */
export function xSignature(key: Buffer, ts: number, nonce: string, body: string): string {
  return createHmac('sha512', key).update(`${ts}.${nonce}.${body}`).digest('hex');
}
