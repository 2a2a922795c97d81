import { bearerMatches, bearerToken, tokenMatcher } from '../../src/security/bearer';

describe('bearer tokens', () => {
  it('reads the token after the Bearer scheme, in any case and after any whitespace', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('BEARER \t abc')).toBe('abc');
  });

  it('reads nothing from a missing header, another scheme, or a header with more than one token', () => {
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken('')).toBeUndefined();
    expect(bearerToken('Basic YWJjOmRlZg==')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer abc def')).toBeUndefined();
    expect(bearerToken('Bearerabc')).toBeUndefined();
  });

  it('matches only the expected token, whatever the lengths', () => {
    const expected = 'a-long-enough-relay-token-0123456789';
    expect(bearerMatches(expected, `Bearer ${expected}`)).toBe(true);
    expect(bearerMatches(expected, `bearer ${expected}`)).toBe(true);
    expect(bearerMatches(expected, `Bearer ${expected}x`)).toBe(false);
    expect(bearerMatches(expected, `Bearer ${expected.slice(1)}`)).toBe(false);
    expect(bearerMatches(expected, 'Bearer x')).toBe(false);
    expect(bearerMatches(expected, expected)).toBe(false);
    expect(bearerMatches(expected, undefined)).toBe(false);
  });

  it('matches a given token against one fixed beforehand, whatever the lengths', () => {
    const matches = tokenMatcher('bootstrap-token-0123456789');
    expect(matches('bootstrap-token-0123456789')).toBe(true);
    expect(matches('bootstrap-token-012345678')).toBe(false);
    expect(matches('bootstrap-token-0123456789x')).toBe(false);
    expect(matches('')).toBe(false);
  });
});
