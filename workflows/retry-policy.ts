import { DEFAULT_JITTER, DEFAULT_RETRY_SCHEDULE_MS, MAX_DELAY_LIMIT_MS, type RetryConfig } from '../src/domain/retry-config';

/**
 * Retry schedule of a delivery. Pure and deterministic, so the workflow and the plan loader share
 * it. Delays are the waits *between* attempts; the first attempt is immediate.
 */

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

/** A duration as people say it: `750 ms`, `5 s`, `30 min`, `2 h`, `1.5 d`. */
export function spokenDuration(ms: number): string {
  const units: Array<[number, string]> = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'min'], [1000, 's']];
  for (const [size, unit] of units) if (ms >= size) return `${Number((ms / size).toFixed(1))} ${unit}`;
  return `${ms} ms`;
}

/** The attempts an endpoint's retry config plans, in words: `immediately, then after 5 s, 5 min (±20 %)`. */
export function attemptPlanText(config: RetryConfig | null | undefined): string {
  const delays = retryDelaysMs(config);
  if (delays.length === 0) return 'one attempt, no retries';
  const jitter = config?.jitter ?? DEFAULT_JITTER;
  const shown = delays.length > 10 ? [...delays.slice(0, 9).map(spokenDuration), `… (${delays.length} retries)`] : delays.map(spokenDuration);
  return `immediately, then after ${shown.join(', ')}${jitter > 0 ? ` (±${Math.round(jitter * 100)} % jitter)` : ''}`;
}
