import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify as verifySignature, type KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/**
 * Standard Webhooks' asymmetric keys (`v1a`, ed25519): the signing secret is `whsk_` + base64 of
 * the 32-byte private seed, the public key `whpk_` + base64 of the raw 32-byte public key. A
 * receiver holds the public key only, so it can verify but never sign.
 */
export const ASYMMETRIC_SECRET_PREFIX = 'whsk_';
export const PUBLIC_KEY_PREFIX = 'whpk_';

const KEY_BYTES = 32;
/** libsodium writes a secret key as seed ‖ public key (64 bytes); the seed is what signs. */
const SODIUM_SECRET_BYTES = 64;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** PKCS#8 DER prefix of an ed25519 private key; the 32-byte seed follows it. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** SPKI DER prefix of an ed25519 public key; the 32 raw bytes follow it. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function decode(text: string, prefix: string, lengths: readonly number[]): Buffer | null {
  if (!text.startsWith(prefix)) return null;
  const encoded = text.slice(prefix.length);
  if (!BASE64.test(encoded)) return null;
  const bytes = Buffer.from(encoded, 'base64');
  return lengths.includes(bytes.length) ? bytes : null;
}

/** The 32-byte seed of a `whsk_` secret (32 bytes, or libsodium's 64), or null when malformed. */
export function asymmetricSeed(secret: string): Buffer | null {
  return decode(secret, ASYMMETRIC_SECRET_PREFIX, [KEY_BYTES, SODIUM_SECRET_BYTES])?.subarray(0, KEY_BYTES) ?? null;
}

/** The raw 32 bytes of a `whpk_` public key, or null when malformed. */
export function publicKeyBytes(publicKey: string): Buffer | null {
  return decode(publicKey, PUBLIC_KEY_PREFIX, [KEY_BYTES]);
}

/** A new ed25519 signing secret (`whsk_…`) from the CSPRNG. */
export function generateAsymmetricSecret(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  return ASYMMETRIC_SECRET_PREFIX + seed.toString('base64');
}

interface SigningPair {
  privateKey: KeyObject;
  publicKey: string;
}

/**
 * Importing a seed costs about ten signatures (Node derives the public key), so each worker keeps
 * the keys it signed with recently. Held in process memory only, like the opened secret itself.
 */
const pairs = new LRUCache<string, SigningPair>({ max: 2048 });

function pairOf(secret: string): SigningPair {
  const cached = pairs.get(secret);
  if (cached) return cached;
  const seed = asymmetricSeed(secret);
  if (!seed) throw new Error('an ed25519 signing secret must be whsk_ followed by base64 of 32 (or 64) bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const raw = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url');
  const pair = { privateKey, publicKey: PUBLIC_KEY_PREFIX + raw.toString('base64') };
  pairs.set(secret, pair);
  return pair;
}

/** The `whpk_` public key of a `whsk_` secret. */
export function publicKeyOf(secret: string): string {
  return pairOf(secret).publicKey;
}

/** Base64 ed25519 signature of `${id}.${ts}.${body}` (Standard Webhooks `v1a`). */
export function asymmetricSignature(secret: string, messageId: string, ts: number, body: string | Buffer): string {
  const content = Buffer.concat([Buffer.from(`${messageId}.${ts}.`), typeof body === 'string' ? Buffer.from(body) : body]);
  return sign(null, content, pairOf(secret).privateKey).toString('base64');
}

/** A `whpk_` public key as a KeyObject, for verifying; null when malformed. */
export function publicKeyObject(publicKey: string): KeyObject | null {
  const raw = publicKeyBytes(publicKey);
  return raw ? createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' }) : null;
}

/** True when `signature` (raw bytes) is the key's ed25519 signature of `${id}.${ts}.${body}`. */
export function verifyAsymmetric(key: KeyObject, messageId: string, ts: number, body: string | Buffer, signature: Buffer): boolean {
  const content = Buffer.concat([Buffer.from(`${messageId}.${ts}.`), typeof body === 'string' ? Buffer.from(body) : body]);
  return signature.length === 64 && verifySignature(null, content, key, signature);
}
