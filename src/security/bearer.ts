import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The token of an `Authorization: Bearer <token>` header, or undefined. The scheme is matched in
 * any case (RFC 9110 §11.1), with any whitespace before the token.
 */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Whether `header` carries `expected` as its bearer token; compared in constant time (as digests, so any length). */
export function bearerMatches(expected: string, header: string | undefined): boolean {
  const given = bearerToken(header);
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}
