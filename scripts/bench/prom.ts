/**
 * The service's own counters, read from its Prometheus metrics: SQL statements by kind
 * (`webhooks_db_queries_total`) and recorded delivery attempts (`webhooks_delivery_attempts_total`).
 */

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
  return { statements, attempts, starts: diff(from.starts, to.starts), statementsTotal: total(statements), attemptsTotal: total(attempts) };
}

/** Reads the metrics of a worker's own listener (`WORKER_METRICS_PORT`). */
export async function scrapeUrl(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return res.text();
}
