/**
 * An endpoint's retry settings (`retry_config`). The policy that turns them into waits is
 * `workflows/retry-policy.ts`.
 */
export interface RetryConfig {
  /** Retries after the first attempt (0 = a single attempt). */
  max_retries?: number;
  /** First retry delay, ms; later delays grow by `backoff_multiplier` up to `max_delay`. */
  retry_delay?: number;
  backoff_multiplier?: number;
  /** Upper bound of one delay, ms. */
  max_delay?: number;
  /** Explicit delays, ms (overrides retry_delay / backoff_multiplier). */
  schedule?: number[];
  /** Jitter as a fraction of each delay, 0..1 (default 0.2 = ±20 %). */
  jitter?: number;
  /** Per-attempt HTTP timeout, ms. */
  timeout_ms?: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** After the immediate attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (like Svix). */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  10 * HOUR,
];
export const DEFAULT_JITTER = 0.2;
export const MAX_RETRIES_LIMIT = 50;
export const MAX_DELAY_LIMIT_MS = 7 * 24 * HOUR;
