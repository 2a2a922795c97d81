/**
 * Retry schedule of a delivery. Pure and deterministic, so workflows and the API share it.
 * Delays are the waits *between* attempts; the first attempt is immediate.
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

/** The delays between attempts for an endpoint's retry config (null = the default schedule). */
export function retryDelaysMs(config: RetryConfig | null | undefined): number[] {
  const cap = Math.min(config?.max_delay ?? MAX_DELAY_LIMIT_MS, MAX_DELAY_LIMIT_MS);
  let delays: number[];
  if (config?.schedule) {
    delays = [...config.schedule];
  } else if (config?.retry_delay !== undefined) {
    const multiplier = config.backoff_multiplier ?? 2;
    const count = config.max_retries ?? DEFAULT_RETRY_SCHEDULE_MS.length;
    delays = Array.from({ length: count }, (_, i) => config.retry_delay! * multiplier ** i);
  } else {
    delays = [...DEFAULT_RETRY_SCHEDULE_MS];
  }
  if (config?.max_retries !== undefined) {
    const last = delays.at(-1) ?? DEFAULT_RETRY_SCHEDULE_MS.at(-1)!;
    while (delays.length < config.max_retries) delays.push(last);
    delays = delays.slice(0, config.max_retries);
  }
  return delays.map((d) => Math.round(Math.min(d, cap)));
}

/** Spreads a delay by ±`fraction`; `random` returns [0, 1) (the workflow's seeded Math.random). */
export function withJitter(delayMs: number, fraction: number, random: () => number): number {
  if (fraction <= 0 || delayMs <= 0) return delayMs;
  return Math.max(0, Math.round(delayMs * (1 + fraction * (2 * random() - 1))));
}

/**
 * The wait before the next attempt: the scheduled delay (with jitter), extended to the receiver's
 * `Retry-After` when that asks for longer, but never beyond `retryAfterMaxMs`.
 */
export function nextDelayMs(
  scheduledMs: number,
  retryAfterMs: number | null | undefined,
  retryAfterMaxMs: number,
): number {
  if (retryAfterMs === null || retryAfterMs === undefined) return scheduledMs;
  return Math.max(scheduledMs, Math.min(retryAfterMs, retryAfterMaxMs));
}
