import { disableReason } from '../../activities/endpoint-health';
import { DEFAULT_RETRY_SCHEDULE_MS } from '../../src/domain/retry-config';
import { nextDelayMs, retryDelaysMs, withJitter } from '../../workflows/retry-policy';

describe('retryDelaysMs', () => {
  it('when no config is given, then the default schedule is 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h', () => {
    expect(retryDelaysMs(null)).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(retryDelaysMs(undefined)).toEqual([...DEFAULT_RETRY_SCHEDULE_MS]);
  });

  it('when retry_delay and a multiplier are given, then delays grow geometrically up to max_delay', () => {
    expect(retryDelaysMs({ max_retries: 4, retry_delay: 1000, backoff_multiplier: 3, max_delay: 10_000 })).toEqual([1000, 3000, 9000, 10_000]);
  });

  it('when only max_retries is given, then the default schedule is cut or extended with its last delay', () => {
    expect(retryDelaysMs({ max_retries: 2 })).toEqual([5_000, 300_000]);
    expect(retryDelaysMs({ max_retries: 9 }).slice(7)).toEqual([36_000_000, 36_000_000]);
    expect(retryDelaysMs({ max_retries: 0 })).toEqual([]);
  });

  it('when an explicit schedule is given, then it is used as is', () => {
    expect(retryDelaysMs({ schedule: [10, 20, 30] })).toEqual([10, 20, 30]);
  });
});

describe('withJitter', () => {
  it('when jitter is 20 %, then delays stay within ±20 %', () => {
    expect(withJitter(1000, 0.2, () => 0)).toBe(800);
    expect(withJitter(1000, 0.2, () => 0.999999)).toBe(1200);
    expect(withJitter(1000, 0, () => 0)).toBe(1000);
  });
});

describe('nextDelayMs', () => {
  it('when Retry-After asks for longer, then it wins, but never past the bound', () => {
    expect(nextDelayMs(5000, null, 60_000)).toBe(5000);
    expect(nextDelayMs(5000, 30_000, 60_000)).toBe(30_000);
    expect(nextDelayMs(5000, 3_600_000, 60_000)).toBe(60_000);
    expect(nextDelayMs(5000, 1000, 60_000)).toBe(5000);
  });
});

describe('disableReason', () => {
  const now = new Date('2026-11-25T12:00:00Z');
  it('when the receiver answered 410, then the endpoint is disabled whatever its streak', () => {
    expect(disableReason({ responseStatus: 410 }, null, 0, now)).toBe('the receiver answered 410 Gone');
  });

  it('when failures last at least the threshold, then it is disabled; shorter, or with the threshold off, it is not', () => {
    const since = new Date(now.getTime() - 3600_000);
    expect(disableReason({ responseStatus: 500 }, since, 3600, now)).toContain('no successful attempt since 2026-11-25T11:00:00.000Z');
    expect(disableReason({ responseStatus: 500 }, since, 3601, now)).toBeNull();
    expect(disableReason({ responseStatus: 500 }, since, 0, now)).toBeNull();
    expect(disableReason({ responseStatus: null }, null, 1, now)).toBeNull();
  });
});
