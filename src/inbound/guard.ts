import { isUtf8 } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { jsonProblems } from '../api/json-input';
import { countInWindow, findSource, findSourceByKey, type SourceRecord } from '../db/inbound-repo';
import type { Db } from '../db/knex';
import { loadValidKeys } from '../db/signing-keys-repo';
import { tenantState } from '../db/tenants-repo';
import type { SecretBox } from '../security/secret-box';
import { secretKeyBytes } from '../security/signing';
import { GuardError } from './guard-errors';
import { parseGuardHeaders, type GuardHeaders } from './headers';

/** A request that passed the guard (short of the nonce check, which the caller records). */
export interface VerifiedInbound {
  source: SourceRecord;
  keyId: string;
  headers: GuardHeaders;
  skewSeconds: number;
  body: unknown;
}

/** What the guard learned before it stopped, for telemetry and the risk score. */
export interface GuardContext {
  source: SourceRecord | null;
  skewSeconds: number | null;
  unknownKeyId: boolean;
}

/** Constant-time: does any given signature equal the HMAC-SHA512 of `ts.nonce.body` under `key`? */
function signatureMatches(key: Buffer, headers: GuardHeaders, rawBody: Buffer): boolean {
  const expected = createHmac('sha512', key).update(`${headers.ts}.${headers.nonce}.`).update(rawBody).digest();
  return headers.signatures
    .map((s) => Buffer.from(s, 'hex'))
    .some((given) => given.length === expected.length && timingSafeEqual(given, expected));
}

async function resolveSource(db: Db, headers: GuardHeaders, context: GuardContext): Promise<SourceRecord> {
  const source = headers.sourceId ? await findSource(db, headers.sourceId) : await findSourceByKey(db, headers.keyId!);
  if (!source || !source.is_active) {
    if (!headers.sourceId) context.unknownKeyId = true;
    throw new GuardError(headers.sourceId ? 'unknown_source' : 'unknown_key', headers.sourceId ? 'no such source' : 'no such key');
  }
  context.source = source;
  return source;
}

/**
 * Checks, in order: headers, source, timestamp window, signature against the source's active and
 * grace keys, the source's rate limit, and that the body is JSON. Writes nothing but the rate
 * window's counter (verified requests only, so nobody can spend another source's budget).
 */
export async function verifyInbound(
  deps: { db: Db; box: SecretBox },
  request: { header: (name: string) => string | undefined; rawBody: Buffer; now: Date },
  context: GuardContext,
): Promise<VerifiedInbound> {
  const headers = parseGuardHeaders(request.header);
  const source = await resolveSource(deps.db, headers, context);

  const skewSeconds = Math.floor(request.now.getTime() / 1000) - headers.ts;
  context.skewSeconds = skewSeconds;
  if (skewSeconds > source.tolerance_seconds) {
    throw new GuardError('timestamp_too_old', `x-ts is ${skewSeconds} s old; the window is ±${source.tolerance_seconds} s`);
  }
  if (skewSeconds < -source.tolerance_seconds) {
    throw new GuardError('timestamp_in_future', `x-ts is ${-skewSeconds} s ahead; the window is ±${source.tolerance_seconds} s`);
  }

  const keys = await loadValidKeys(deps.db, deps.box, { type: 'source', id: source.id }, source.tenant_id);
  const candidates = headers.keyId ? keys.filter((k) => k.id === headers.keyId) : keys;
  if (candidates.length === 0) {
    context.unknownKeyId = headers.keyId !== null;
    throw new GuardError('unknown_key', headers.keyId ? `key ${headers.keyId} is not a valid key of this source` : 'the source has no valid key');
  }
  const matched = candidates.find((k) => {
    const bytes = secretKeyBytes(k.secret);
    return bytes !== null && signatureMatches(bytes, headers, request.rawBody);
  });
  if (!matched) throw new GuardError('bad_signature', 'x-signature does not match the body under any valid key');
  // Said only to a sender that proved it holds the source's key.
  if ((await tenantState(deps.db, source.tenant_id)) !== 'active') throw new GuardError('tenant_disabled', "the source's tenant is disabled");

  if ((await countInWindow(deps.db, source.id, request.now)) > source.rate_limit_per_minute) {
    throw new GuardError('rate_limited', `more than ${source.rate_limit_per_minute} requests this minute from this source`);
  }

  // Decoding would replace bytes that are not UTF-8 silently: the body is refused instead.
  if (!isUtf8(request.rawBody)) throw new GuardError('invalid_json', 'the body is not valid UTF-8');
  let body: unknown;
  try {
    body = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new GuardError('invalid_json', 'the body is not valid JSON');
  }
  const problems = jsonProblems(body, 'body');
  if (problems.length > 0) throw new GuardError('invalid_json', `the body holds what no JSON body may: ${problems[0]!.path}: ${problems[0]!.message}`, problems);
  return { source, keyId: matched.id, headers, skewSeconds, body };
}
