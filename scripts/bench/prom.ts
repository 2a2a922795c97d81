/**
 * The service's own counters, read from its Prometheus metrics: SQL statements by kind
 * (`webhooks_db_queries_total`), recorded delivery attempts (`webhooks_delivery_attempts_total`),
 * delivery starts, and the histograms of an ingest's parts (`webhooks_ingest_part_duration_seconds`).
 */
import { round } from './stats';

/** Samples of one metric in Prometheus text: each with its labels and value. */
export function samplesOf(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/** What the service counted so far in one process. */
export interface ServiceCounts {
  /** SQL statements by kind (select, insert, …, begin, commit). */
  statements: Record<string, number>;
  /** Delivery attempts recorded, by outcome. */
  attempts: Record<string, number>;
  /** Delivery workflows started, by how their first task reached a worker (`eager`, `queued`). */
  starts: Record<string, number>;
  /**
   * The ingest parts' histograms (`webhooks_ingest_part_duration_seconds`), by part: cumulative
   * counts by upper bound in seconds, keyed as exposed (`"0.005"`, …, `"+Inf"`).
   */
  ingestParts: Record<string, Buckets>;
}

/** A Prometheus histogram's cumulative buckets: upper bound (s) → observations at or under it. */
export type Buckets = Record<string, number>;

/** The histogram `name`'s buckets, by the value of `label`. */
function bucketsOf(text: string, name: string, label: string): Record<string, Buckets> {
  const out: Record<string, Buckets> = {};
  for (const s of samplesOf(text, `${name}_bucket`)) {
    const key = s.labels[label] ?? '';
    const le = s.labels.le;
    if (le === undefined) continue;
    (out[key] ??= {})[le] = s.value;
  }
  return out;
}

/**
 * The `q` quantile of a histogram's observations, in seconds, as Prometheus's
 * `histogram_quantile` estimates it: found in its bucket, interpolated linearly inside it (the
 * first bucket from 0; in the `+Inf` bucket, the highest finite bound). Null without observations.
 */
export function bucketQuantile(buckets: Buckets, q: number): number | null {
  const sorted = Object.entries(buckets)
    .map(([le, count]) => ({ le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), count }))
    .sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let below = { le: 0, count: 0 };
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (!Number.isFinite(bucket.le)) return below.le;
      const inBucket = bucket.count - below.count;
      return inBucket <= 0 ? bucket.le : below.le + ((bucket.le - below.le) * (rank - below.count)) / inBucket;
    }
    below = bucket;
  }
  return below.le;
}

/**
 * A part of the ingest requests from its histogram: p50 and p99 in ms, estimated inside their
 * buckets as Prometheus does (a bucket's width bounds the error: 1 ms at 10 ms, 25 ms at 100 ms),
 * and how many requests it counts. Null without requests.
 */
export function ingestPartQuantiles(buckets: Buckets | undefined): { p50: number; p99: number; count: number } | null {
  const p50 = buckets && bucketQuantile(buckets, 0.5);
  const p99 = buckets && bucketQuantile(buckets, 0.99);
  if (!buckets || p50 === null || p50 === undefined || p99 === null || p99 === undefined) return null;
  return { p50: round(p50 * 1000, 1), p99: round(p99 * 1000, 1), count: buckets['+Inf'] ?? 0 };
}

/** Counts summed key by key: counters by label, or a histogram's buckets bound by bound (rounds pooled, an API's and a worker's). */
export function sumByKey(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [key, value] of Object.entries(b)) out[key] = (out[key] ?? 0) + value;
  return out;
}

/** Histograms by label summed label by label. */
export function sumHistograms(a: Record<string, Buckets>, b: Record<string, Buckets>): Record<string, Buckets> {
  const out = { ...a };
  for (const [label, buckets] of Object.entries(b)) out[label] = sumByKey(out[label] ?? {}, buckets);
  return out;
}

export function serviceCounts(text: string): ServiceCounts {
  const by = (name: string, label: string) => {
    const out: Record<string, number> = {};
    for (const s of samplesOf(text, name)) {
      const key = s.labels[label] ?? '';
      out[key] = (out[key] ?? 0) + s.value;
    }
    return out;
  };
  return {
    statements: by('webhooks_db_queries_total', 'kind'),
    attempts: by('webhooks_delivery_attempts_total', 'outcome'),
    starts: by('webhooks_delivery_starts_total', 'first_task'),
    ingestParts: bucketsOf(text, 'webhooks_ingest_part_duration_seconds', 'part'),
  };
}

const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** Counts between two readings. */
export function countsUsed(from: ServiceCounts, to: ServiceCounts): ServiceCounts & { statementsTotal: number; attemptsTotal: number } {
  const diff = (a: Record<string, number>, b: Record<string, number>) => {
    const out: Record<string, number> = {};
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = (b[key] ?? 0) - (a[key] ?? 0);
      if (d !== 0) out[key] = d;
    }
    return out;
  };
  const statements = diff(from.statements, to.statements);
  const attempts = diff(from.attempts, to.attempts);
  const ingestParts: Record<string, Buckets> = {};
  // Every bound kept (an empty bucket too): a quantile interpolates from the bound below it.
  for (const [part, buckets] of Object.entries(to.ingestParts)) {
    ingestParts[part] = Object.fromEntries(Object.entries(buckets).map(([le, count]) => [le, count - (from.ingestParts[part]?.[le] ?? 0)]));
  }
  return { statements, attempts, starts: diff(from.starts, to.starts), ingestParts, statementsTotal: total(statements), attemptsTotal: total(attempts) };
}

/** Reads the metrics of a worker's own listener (`WORKER_METRICS_PORT`). */
export async function scrapeUrl(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return res.text();
}
