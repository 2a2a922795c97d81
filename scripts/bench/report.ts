import os from 'node:os';
import type { BenchOptions, RunName } from './options';
import type { RunResult } from './measure';
import { round, type Summary } from './stats';

/** Service throughput must be at least this share of the floor's. */
export const THROUGHPUT_TARGET = 0.5;

export interface ReportMeta {
  date: string;
  node: string;
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  temporal: string;
  database: string;
  events: number;
  concurrency: number;
  warmup: number;
  bodyBytes: number;
}

export function reportMeta(opts: BenchOptions, temporal: string, database: string, bodyBytes: number): ReportMeta {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGb: round(os.totalmem() / 1024 ** 3, 1),
    temporal,
    database,
    events: opts.events,
    concurrency: opts.concurrency,
    warmup: opts.warmup,
    bodyBytes,
  };
}

export interface Ratios {
  serviceOverFloorThroughput: number | null;
  serviceOverDirectThroughput: number | null;
  serviceOverFloorRss: number | null;
  target: number;
  verdict: 'PASS' | 'BELOW TARGET' | 'n/a';
}

export function ratios(results: readonly RunResult[]): Ratios {
  const by = (name: RunName) => results.find((r) => r.name === name);
  const div = (a: number | null | undefined, b: number | null | undefined) =>
    a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;
  const service = by('service');
  const floor = by('floor');
  const tf = div(service?.throughput, floor?.throughput);
  return {
    serviceOverFloorThroughput: tf,
    serviceOverDirectThroughput: div(service?.throughput, by('direct')?.throughput),
    serviceOverFloorRss: div(service?.workerPeakRssMb, floor?.workerPeakRssMb),
    target: THROUGHPUT_TARGET,
    verdict: tf === null ? 'n/a' : tf >= THROUGHPUT_TARGET ? 'PASS' : 'BELOW TARGET',
  };
}

const ms = (s: Summary) => ({ p50: round(s.p50), p90: round(s.p90), p99: round(s.p99), max: round(s.max), mean: round(s.mean) });
const maybe = (v: number | null, decimals = 1) => (v === null ? null : round(v, decimals));

/** The `--json` document. */
export function jsonReport(meta: ReportMeta, results: readonly RunResult[]): unknown {
  const r = ratios(results);
  return {
    meta,
    runs: Object.fromEntries(
      results.map((x) => [
        x.name,
        {
          events: x.events,
          receiverRequests: x.receiverRequests,
          durationS: round(x.durationS, 3),
          deliveriesPerS: round(x.throughput),
          e2eMs: ms(x.e2e),
          acceptMs: ms(x.accept),
          workerPeakRssMb: maybe(x.workerPeakRssMb),
          workerLifetimePeakRssMb: maybe(x.workerLifetimePeakRssMb),
          workerReadyS: maybe(x.workerReadyS),
          history: x.history && {
            sampledWorkflows: x.history.sampled,
            events: x.history.events,
            workflowTasks: x.history.workflowTasks,
            wftQueueMs: round(x.history.wftQueue),
            wftRunMs: round(x.history.wftRun),
            activityQueueMs: round(x.history.activityQueue),
            activityRunMs: round(x.history.activityRun),
            startToCloseMs: round(x.history.total),
          },
          cpuS: {
            bench: round(x.cpu.bench, 2),
            worker: maybe(x.cpu.worker, 2),
            temporal: maybe(x.cpu.temporal, 2),
            postgres: maybe(x.cpu.postgres, 2),
          },
        },
      ]),
    ),
    ratios: {
      serviceOverFloorThroughput: maybe(r.serviceOverFloorThroughput, 3),
      serviceOverDirectThroughput: maybe(r.serviceOverDirectThroughput, 4),
      serviceOverFloorRss: maybe(r.serviceOverFloorRss, 2),
      target: r.target,
      verdict: r.verdict,
    },
  };
}

function fmt(value: number | null, decimals = 1): string {
  return value === null || Number.isNaN(value) ? '—' : value.toFixed(decimals);
}

/** The human-readable table: runs as columns, then the ratios. */
export function textReport(meta: ReportMeta, results: readonly RunResult[]): string {
  const names = results.map((r) => r.name);
  const rows: Array<[string, (r: RunResult) => string]> = [
    ['deliveries/s', (r) => fmt(r.throughput)],
    ['e2e p50 (ms)', (r) => fmt(r.e2e.p50)],
    ['e2e p99 (ms)', (r) => fmt(r.e2e.p99)],
    ['API/start p99 (ms)', (r) => fmt(r.accept.p99)],
    ['worker peak RSS (MB)', (r) => fmt(r.workerPeakRssMb)],
    ['', () => ''],
    ['measured wall time (s)', (r) => fmt(r.durationS, 2)],
    ['API/start p50 (ms)', (r) => fmt(r.accept.p50)],
    ['e2e max (ms)', (r) => fmt(r.e2e.max)],
    ['receiver requests', (r) => String(r.receiverRequests)],
    ['worker RSS, life peak (MB)', (r) => fmt(r.workerLifetimePeakRssMb)],
    ['worker ready after (s)', (r) => fmt(r.workerReadyS)],
    ['CPU s: bench process', (r) => fmt(r.cpu.bench, 2)],
    ['CPU s: worker', (r) => fmt(r.cpu.worker, 2)],
    ['CPU s: Temporal server', (r) => fmt(r.cpu.temporal, 2)],
    ['CPU s: Postgres', (r) => fmt(r.cpu.postgres, 2)],
    ['', () => ''],
    ['history p50: events', (r) => fmt(r.history?.events ?? null, 0)],
    ['history p50: workflow tasks', (r) => fmt(r.history?.workflowTasks ?? null, 0)],
    ['  WFT queue wait (ms)', (r) => fmt(r.history?.wftQueue ?? null)],
    ['  WFT on worker (ms)', (r) => fmt(r.history?.wftRun ?? null)],
    ['  activity queue wait (ms)', (r) => fmt(r.history?.activityQueue ?? null)],
    ['  activity running (ms)', (r) => fmt(r.history?.activityRun ?? null)],
    ['  workflow start->close (ms)', (r) => fmt(r.history?.total ?? null)],
  ];
  const labelWidth = Math.max(...rows.map(([label]) => label.length));
  const width = 12;
  const line = (label: string, cells: string[]) => `${label.padEnd(labelWidth)}  ${cells.map((c) => c.padStart(width)).join('')}`;
  const out: string[] = [];
  out.push(`webhook delivery benchmark — ${meta.date}`);
  out.push(`machine: ${meta.cpus} cores (${meta.cpuModel}), ${meta.memoryGb} GB RAM, Node ${meta.node}`);
  out.push(`Temporal: ${meta.temporal}`);
  out.push(`database: ${meta.database}`);
  out.push(
    `events: ${meta.events} per run (+${meta.warmup} warm-up), concurrency ${meta.concurrency}, body ${meta.bodyBytes} bytes`,
  );
  out.push('');
  out.push(line('', names));
  out.push('-'.repeat(labelWidth + 2 + width * names.length));
  for (const [label, cell] of rows) out.push(label === '' ? '' : line(label, results.map(cell)));
  const r = ratios(results);
  out.push('');
  out.push(
    `service/floor throughput:  ${fmt(r.serviceOverFloorThroughput, 3)}  (target >= ${r.target}: ${r.verdict})`,
  );
  out.push(`service/direct throughput: ${fmt(r.serviceOverDirectThroughput, 4)}`);
  out.push(`worker RSS service/floor:  ${fmt(r.serviceOverFloorRss, 2)}`);
  out.push('');
  out.push('e2e: accepted (202 / workflow started / direct: request sent) -> request at the receiver.');
  out.push('deliveries/s: events / (first accepted -> last received). CPU: core-seconds in the measured phase.');
  out.push('history: medians over up to 50 measured workflows, from server timestamps (WFT = workflow task;');
  out.push('the service runs its local activities inside WFTs).');
  return out.join('\n');
}
