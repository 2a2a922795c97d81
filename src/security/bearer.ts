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

/** A check of `Authorization` headers for `expected` as their bearer token, compared as {@link tokenMatcher} does. */
export function bearerMatcher(expected: string): (header: string | undefined) => boolean {
  const matches = tokenMatcher(expected);
  return (header) => {
    const given = bearerToken(header);
    return given !== undefined && matches(given);
  };
}

/** Whether `header` carries `expected` as its bearer token (a one-off {@link bearerMatcher}). */
export function bearerMatches(expected: string, header: string | undefined): boolean {
  return bearerMatcher(expected)(header);
}
