import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The token of an `Authorization: Bearer <token>` header, or undefined. The scheme is matched in
 * any case (RFC 9110 §11.1), with any whitespace before the token.
 */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * A check of given tokens against `expected`, in constant time (as digests, so any length);
 * `expected`'s digest is taken once, for checks made on every request.
 */
export function tokenMatcher(expected: string): (given: string) => boolean {
  const wanted = digest(expected);
  return (given) => timingSafeEqual(digest(given), wanted);
}

/** Whether `header` carries `expected` as its bearer token; compared as {@link tokenMatcher} does. */
export function bearerMatches(expected: string, header: string | undefined): boolean {
  const given = bearerToken(header);
  return given !== undefined && tokenMatcher(expected)(given);
}
