import { GuardError } from './guard-errors';

/** What the guard reads from an inbound request's headers, checked for presence and form. */
export interface GuardHeaders {
  ts: number;
  nonce: string;
  signatures: string[];
  keyId: string | null;
  sourceId: string | null;
}

const NONCE = /^[A-Za-z0-9_-]{16,128}$/;
const SIGNATURE = /^[0-9a-f]{128}$/i;
const ID = /^[a-z]+_[0-9a-z]{26}$/;

type Get = (name: string) => string | undefined;

/** Parses the guard's headers; each missing or malformed one is its own error code. */
export function parseGuardHeaders(get: Get): GuardHeaders {
  const ts = get('x-ts');
  const nonce = get('x-nonce');
  const signature = get('x-signature');
  if (!ts) throw new GuardError('missing_x_ts', 'the x-ts header (unix seconds) is required');
  if (!nonce) throw new GuardError('missing_x_nonce', 'the x-nonce header is required');
  if (!signature) throw new GuardError('missing_x_signature', 'the x-signature header is required');
  if (!/^\d{1,12}$/.test(ts)) throw new GuardError('invalid_x_ts', 'x-ts must be unix seconds');
  if (!NONCE.test(nonce)) throw new GuardError('invalid_x_nonce', 'x-nonce must be 16 to 128 characters of A-Z a-z 0-9 _ -');
  const signatures = signature.trim().split(/\s+/);
  if (signatures.length > 4 || !signatures.every((s) => SIGNATURE.test(s))) {
    throw new GuardError('invalid_x_signature', 'x-signature must be hex HMAC-SHA512 (128 hex characters; at most 4, space-separated)');
  }
  const keyId = get('x-key-id')?.trim() || null;
  const sourceId = get('x-source-id')?.trim() || null;
  if (keyId !== null && !ID.test(keyId)) throw new GuardError('unknown_key', 'x-key-id is not a key id');
  if (sourceId !== null && !ID.test(sourceId)) throw new GuardError('unknown_source', 'x-source-id is not a source id');
  if (!keyId && !sourceId) throw new GuardError('missing_source', 'name the sender with x-source-id (or x-key-id)');
  return { ts: Number(ts), nonce, signatures: signatures.map((s) => s.toLowerCase()), keyId, sourceId };
}
