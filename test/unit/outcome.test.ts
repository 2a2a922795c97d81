import { classifyStatus, networkErrorClass, parseRetryAfter, statusErrorClass } from '../../src/http/outcome';

describe('classifyStatus', () => {
  it.each([
    [200, 'succeeded'], [204, 'succeeded'], [299, 'succeeded'],
    [408, 'retryable'], [425, 'retryable'], [429, 'retryable'], [500, 'retryable'], [503, 'retryable'],
    [301, 'failed'], [400, 'failed'], [401, 'failed'], [404, 'failed'], [410, 'failed'], [422, 'failed'],
  ])('when the receiver answers %i, then the attempt is %s', (status, outcome) => {
    expect(classifyStatus(status)).toBe(outcome);
  });

  it('when a redirect comes back, then its error class says it was refused', () => {
    expect(statusErrorClass(302)).toBe('redirect_refused');
    expect(statusErrorClass(429)).toBe('rate_limited');
    expect(statusErrorClass(200)).toBeNull();
  });
});

describe('networkErrorClass', () => {
  it('when the cause carries a known code, then it is named', () => {
    expect(networkErrorClass(Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNREFUSED' } }))).toBe('connection_refused');
    expect(networkErrorClass({ name: 'TimeoutError' })).toBe('timeout');
    expect(networkErrorClass({ code: 'UND_ERR_HEADERS_TIMEOUT' })).toBe('timeout');
    expect(networkErrorClass(new Error('weird'))).toBe('network');
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  it('when given seconds or an HTTP date, then milliseconds come back', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});
