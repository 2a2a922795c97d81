/** The targets of issue 11, each as a figure of this bench run next to its limit. */
import type { FanoutResult } from './fanout';
import type { RunResult } from './measure';
import type { ReadsResult } from './reads';
import type { RssResult } from './rss';
import { ratio } from './stats';

export interface Target {
  /** Stable key for machines (`--json`). */
  id: string;
  /** What is compared, in words. */
  label: string;
  /** The figure: a ratio, or an absolute value in `unit`. */
  value: number | null;
  unit: '×' | 'ms' | 'MB' | 'statements';
  op: '>=' | '<=' | null;
  /** null: reported, no limit. */
  limit: number | null;
  verdict: 'PASS' | 'MISS' | 'n/a' | 'reported';
  /** The two figures a ratio is made of, or where the value comes from. */
  basis: string;
}

/** Everything one bench run measured. */
export interface BenchResults {
  runs: RunResult[];
  fileStore: string | null;
  reads: ReadsResult | null;
  fanout: FanoutResult | null;
  rss: RssResult | null;
  /** Runs that failed, with why. */
  errors: Array<{ run: string; message: string }>;
}

const fmt = (v: number | null | undefined, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(d));

function target(id: string, label: string, value: number | null, unit: Target['unit'], op: '>=' | '<=', limit: number, basis: string): Target {
  const verdict = value === null ? 'n/a' : (op === '>=' ? value >= limit : value <= limit) ? 'PASS' : 'MISS';
  return { id, label, value, unit, op, limit, verdict, basis };
}

export function targets(results: BenchResults): Target[] {
  const by = (name: string) => results.runs.find((r) => r.name === name);
  const service = by('service');
  const floor = by('floor');
  const file = by('service-file');
  const s50 = by('service@50%');
  const f50 = by('floor@50%');
  // The service as `npm start` runs it: API and worker in one process, eager starts.
  const one = by('one-process');
  const o50 = by('one-process@50%');
  const cpu = (r: RunResult | undefined, key: 'worker' | 'temporal') => r?.perDelivery.cpuMs[key] ?? null;
  const list: Target[] = [
    target('throughput', 'service deliveries/s ÷ floor', ratio(service?.throughput, floor?.throughput), '×', '>=', 0.6, `${fmt(service?.throughput)} / ${fmt(floor?.throughput)} deliveries/s`),
    target('throughputOneProcess', '  one process: deliveries/s ÷ floor', ratio(one?.throughput, floor?.throughput), '×', '>=', 0.6, `${fmt(one?.throughput)} / ${fmt(floor?.throughput)} deliveries/s`),
    target('workerCpu', 'worker CPU per delivery ÷ floor process', ratio(cpu(service, 'worker'), cpu(floor, 'worker')), '×', '<=', 1.3, `${fmt(cpu(service, 'worker'))} / ${fmt(cpu(floor, 'worker'))} ms`),
    {
      id: 'processCpuOneProcess',
      label: '  one process: API+worker CPU ÷ floor process',
      value: ratio(cpu(one, 'worker'), cpu(floor, 'worker')),
      unit: '×',
      op: null,
      limit: null,
      verdict: one && floor ? 'reported' : 'n/a',
      basis: `${fmt(cpu(one, 'worker'))} / ${fmt(cpu(floor, 'worker'))} ms (the API's share cannot be told apart)`,
    },
    target('temporalCpu', 'Temporal CPU per delivery ÷ floor', ratio(cpu(service, 'temporal'), cpu(floor, 'temporal')), '×', '<=', 1.3, `${fmt(cpu(service, 'temporal'))} / ${fmt(cpu(floor, 'temporal'))} ms`),
    target('temporalCpuOneProcess', '  one process: Temporal CPU per delivery ÷ floor', ratio(cpu(one, 'temporal'), cpu(floor, 'temporal')), '×', '<=', 1.3, `${fmt(cpu(one, 'temporal'))} / ${fmt(cpu(floor, 'temporal'))} ms`),
    target('workerSql', 'worker SQL statements per successful delivery', service?.perDelivery.sqlWorker ?? null, 'statements', '<=', 5, 'service run, webhooks_db_queries_total of the worker'),
    target('latencyE2eP50', 'at 50 % load: e2e p50 ÷ floor', ratio(s50?.e2e.p50, f50?.e2e.p50), '×', '<=', 1.5, `${fmt(s50?.e2e.p50)} / ${fmt(f50?.e2e.p50)} ms`),
    target('latencyE2eP50OneProcess', '  one process at 50 % load: e2e p50 ÷ floor', ratio(o50?.e2e.p50, f50?.e2e.p50), '×', '<=', 1.5, `${fmt(o50?.e2e.p50)} / ${fmt(f50?.e2e.p50)} ms`),
    target('latencyIngestP99', 'at 50 % load: API ingest p99', s50?.accept.p99 ?? null, 'ms', '<=', 50, 'service@50%, POST /events'),
    target('latencyIngestP99OneProcess', '  one process at 50 % load: API ingest p99', o50?.accept.p99 ?? null, 'ms', '<=', 50, 'one-process@50%, POST /events'),
    target('fileStore', 'file-backed store ÷ in-memory', ratio(file?.throughput, service?.throughput), '×', '>=', 0.8, `${fmt(file?.throughput)} / ${fmt(service?.throughput)} deliveries/s`),
    target('workerRss', `worker peak RSS with ${results.rss?.events ?? 1000} accepted at once`, results.rss?.workerPeakRssMb ?? null, 'MB', '<=', 300, results.rss ? `peak ${results.rss.peakInFlight} in flight, ${results.rss.peakAtReceiver} held at the receiver` : 'rss run'),
  ];
  const fifo = by('fifo');
  list.push({
    id: 'fifo',
    label: 'one FIFO endpoint (ordered, one at a time): deliveries/s ÷ unordered',
    value: ratio(fifo?.throughput, service?.throughput),
    unit: '×',
    op: null,
    limit: null,
    verdict: fifo ? 'reported' : 'n/a',
    basis: fifo ? `${fmt(fifo.throughput)} / ${fmt(service?.throughput)} deliveries/s` : 'fifo run',
  });
  const fan = results.fanout;
  list.push({
    id: 'fanout',
    label: `one event to ${fan?.endpoints ?? 1000} endpoints: time to the last delivery`,
    value: fan ? fan.lastDeliveryMs : null,
    unit: 'ms',
    op: null,
    limit: null,
    verdict: fan ? 'reported' : 'n/a',
    basis: fan ? `${fmt(fan.deliveriesPerS)} deliveries/s` : 'fanout run',
  });
  return list;
}
