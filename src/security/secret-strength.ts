/**
 * What production refuses as a secret: the placeholders that sample files and compose files ship
 * with, short bearer tokens, and keys a person typed instead of generated. Messages name the
 * setting, never the value.
 */

/** Words sample configurations use for "put a real secret here". */
const PLACEHOLDER = /change[\s_-]*me|replace[\s_-]*me|placeholder|example|your[\s_-]|insecure|^(secret|password|token|test|dev|default|admin)$/i;

/** Shortest bearer token production accepts (API_TOKEN, METRICS_TOKEN). */
export const MIN_TOKEN_LENGTH = 32;
/** Fewest distinct characters in a token: `aaaa…` or `abab…` of any length is not random. */
const MIN_TOKEN_DISTINCT_CHARS = 10;
/**
 * Fewest distinct byte values in a 32-byte key. A random key has about 30; fewer than 16 happens by
 * chance about never, and catches all-zero keys, repeated patterns and hand-typed hex.
 */
const MIN_KEY_DISTINCT_BYTES = 16;

/** Why a bearer token (or other text secret) is too weak for production, or null. */
export function weakTokenReason(value: string, minLength = MIN_TOKEN_LENGTH): string | null {
  if (PLACEHOLDER.test(value)) return 'is a placeholder; generate one, e.g. `openssl rand -hex 32`';
  if (value.length < minLength) return `is shorter than ${minLength} characters; generate one, e.g. \`openssl rand -hex 32\``;
  if (new Set(value).size < MIN_TOKEN_DISTINCT_CHARS) return 'has too few distinct characters to be random; generate one, e.g. `openssl rand -hex 32`';
  return null;
}

/** Why a 32-byte key (as text, and as parsed bytes) is too weak for production, or null. */
export function weakKeyReason(text: string, key: Buffer): string | null {
  if (PLACEHOLDER.test(text)) return 'is a placeholder; generate a key, e.g. `openssl rand -hex 32`';
  if (key.every((byte) => byte === 0)) return 'is all zeros; generate a key, e.g. `openssl rand -hex 32`';
  if (new Set(key).size < MIN_KEY_DISTINCT_BYTES) return 'has too little entropy (a repeated or typed pattern); generate a key, e.g. `openssl rand -hex 32`';
  return null;
}
