import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SignatureScheme } from '../domain/signature-schemes';
import { publicKeyObject, verifyAsymmetric } from './ed25519';
import { sha256Signature, standardSignature } from './schemes';
import { secretKeyBytes } from './signing';

/** Why a request did not verify. */
export type VerifyErrorCode =
  | 'unknown_scheme'
  | 'missing_header'
  | 'invalid_timestamp'
  | 'timestamp_out_of_window'
  | 'invalid_secret'
  | 'invalid_public_key'
  | 'signature_mismatch';

/** Thrown by {@link verify}; `code` says why, `message` never holds a secret or a signature. */
export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
  constructor(readonly code: VerifyErrorCode, message: string) {
    super(message);
  }
}

/** Request headers as Node (`req.headers`), fetch (`Headers`) or a plain record give them. */
export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

/** Which of the given secrets signed the request. */
export interface VerifyOk {
  /** Index into `secrets` of the first secret that matched. */
  index: number;
  /** Unix seconds of the signed timestamp (null for `sha256`, which signs none). */
  timestamp: number | null;
}

/** Receivers should refuse signatures older or newer than this (seconds). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const found = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = found === undefined ? undefined : record[found];
  return Array.isArray(value) ? value.join(' ') : value;
}

function required(headers: HeaderSource, name: string): string {
  const value = header(headers, name)?.trim();
  if (!value) throw new WebhookVerificationError('missing_header', `missing ${name} header`);
  return value;
}

function checkTimestamp(text: string, toleranceSeconds: number, now: Date): number {
  if (!/^\d{1,12}$/.test(text)) throw new WebhookVerificationError('invalid_timestamp', 'timestamp is not unix seconds');
  const ts = Number(text);
  if (Math.abs(now.getTime() / 1000 - ts) > toleranceSeconds) {
    throw new WebhookVerificationError('timestamp_out_of_window', `timestamp is more than ${toleranceSeconds} s away`);
  }
  return ts;
}

/** Constant-time equality of two encoded signatures (the lengths are not secret). */
function sameSignature(given: string, expected: string, encoding: 'hex' | 'base64'): boolean {
  const a = Buffer.from(given, encoding);
  const b = Buffer.from(expected, encoding);
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

function keyOf(secret: string): Buffer {
  const bytes = secretKeyBytes(secret);
  if (!bytes) throw new WebhookVerificationError('invalid_secret', 'a secret is not whsec_ + base64 of 24 to 64 bytes');
  return bytes;
}

/** `standard-webhooks-v1a`: any `v1a,` signature verifies under any of the `whpk_` public keys. */
function verifyV1a(headers: HeaderSource, body: string | Buffer, publicKeys: readonly string[], toleranceSeconds: number, now: Date): VerifyOk {
  const keys = publicKeys.map((text) => {
    const key = publicKeyObject(text);
    if (!key) throw new WebhookVerificationError('invalid_public_key', 'a public key is not whpk_ + base64 of 32 bytes');
    return key;
  });
  const id = required(headers, 'webhook-id');
  const ts = required(headers, 'webhook-timestamp');
  const given = required(headers, 'webhook-signature')
    .split(' ')
    .filter((s) => s.startsWith('v1a,'))
    .map((s) => Buffer.from(s.slice('v1a,'.length), 'base64'));
  const timestamp = checkTimestamp(ts, toleranceSeconds, now);
  for (const [index, key] of keys.entries()) {
    if (given.some((sig) => verifyAsymmetric(key, id, timestamp, body, sig))) return { index, timestamp };
  }
  throw new WebhookVerificationError('signature_mismatch', 'no signature matches any of the given public keys');
}

/**
 * Verifies a received webhook signed under `scheme` against any of `secrets` (the endpoint's
 * `whsec_…` secrets; give old and new during a rotation). For `standard-webhooks-v1a` they are
 * the endpoint's `whpk_…` public keys (`GET /endpoints/:id/public-key`). The signature headers may hold several
 * signatures separated by spaces: any one matching any secret is enough. Comparisons are
 * constant-time. `rawBody` must be the bytes exactly as received (not re-serialized JSON).
 *
 * The timestamp (`x-ts` or `webhook-timestamp`) must be within `toleranceSeconds` of `now`; the
 * `sha256` scheme signs no timestamp, so it has no replay window: deduplicate on `x-delivery-id`.
 *
 * @returns which secret matched.
 * @throws WebhookVerificationError with a `code` when the request does not verify.
 */
export function verify(
  scheme: SignatureScheme,
  headers: HeaderSource,
  rawBody: string | Buffer,
  secrets: readonly string[],
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
  now: Date = new Date(),
): VerifyOk {
  if (scheme === 'standard-webhooks-v1a') return verifyV1a(headers, rawBody, secrets, toleranceSeconds, now);
  const keys = secrets.map(keyOf);
  const body = rawBody;
  let timestamp: number | null = null;
  let given: string[];
  let expected: (key: Buffer) => string;
  let encoding: 'hex' | 'base64';
  switch (scheme) {
    case 'x-signature': {
      const ts = required(headers, 'x-ts');
      const nonce = required(headers, 'x-nonce');
      given = required(headers, 'x-signature').split(' ');
      timestamp = checkTimestamp(ts, toleranceSeconds, now);
      expected = (key) => createHmac('sha512', key).update(`${timestamp}.${nonce}.`).update(body).digest('hex');
      encoding = 'hex';
      break;
    }
    case 'standard-webhooks': {
      const id = required(headers, 'webhook-id');
      const ts = required(headers, 'webhook-timestamp');
      given = required(headers, 'webhook-signature')
        .split(' ')
        .filter((s) => s.startsWith('v1,'))
        .map((s) => s.slice('v1,'.length));
      timestamp = checkTimestamp(ts, toleranceSeconds, now);
      expected = (key) => standardSignature(key, id, timestamp!, body);
      encoding = 'base64';
      break;
    }
    case 'sha256':
      given = required(headers, 'x-webhook-signature')
        .split(' ')
        .filter((s) => s.startsWith('sha256='))
        .map((s) => s.slice('sha256='.length));
      expected = (key) => sha256Signature(key, body);
      encoding = 'hex';
      break;
    default:
      throw new WebhookVerificationError('unknown_scheme', `unknown scheme ${String(scheme)}`);
  }
  for (const [index, key] of keys.entries()) {
    const want = expected(key);
    if (given.some((sig) => sameSignature(sig, want, encoding))) return { index, timestamp };
  }
  throw new WebhookVerificationError('signature_mismatch', 'no signature matches any of the given secrets');
}
