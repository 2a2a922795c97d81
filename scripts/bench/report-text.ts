/** The human-readable report: runs as columns, then reads, fan-out, worker RSS and the targets. */
import { cpuMsAll, laterWarmup, type RunResult } from './measure';
import { HEAP_GROWTH_ENV, MAIN_THREAD_ENV, settingOf, type RssPhase } from './rss';
import { INGEST_PARTS, type IngestPart } from '../../src/metrics';
import { ingestPartQuantiles } from './prom';
import type { ReportMeta } from './report';
import { roundsOf, targets, type BenchResults } from './targets';

const fmt = (value: number | null | undefined, decimals = 1): string =>
  value === null || value === undefined || Number.isNaN(value) ? '—' : value.toFixed(decimals);

type Row = [string, (r: RunResult) => string];

/** One part of the service's ingest requests: its p50 and p99 from the API's histogram (—: a floor). */
function partCell(r: RunResult, part: IngestPart): string {
  const q = ingestPartQuantiles(r.ingestParts?.[part]);
  return q ? `${fmt(q.p50)} | ${fmt(q.p99)}` : '—';
}

const ROWS: Row[] = [
  ['deliveries/s', (r) => fmt(r.throughput)],
  ['e2e p50 (ms)', (r) => fmt(r.e2e.p50)],
  ['e2e p99 (ms)', (r) => fmt(r.e2e.p99)],
  ['ingest/start p50 (ms)', (r) => fmt(r.accept.p50)],
  ['ingest/start p99 (ms)', (r) => fmt(r.accept.p99)],
  ...INGEST_PARTS.map((part): Row => [`  ingest ${part} p50 | p99 (ms)`, (r) => partCell(r, part)]),
  ["  API's GET /healthz meanwhile p50 | p99 (ms)", (r) => (r.probe ? `${fmt(r.probe.p50)} | ${fmt(r.probe.p99)}` : '—')],
  ['per delivery:', () => ''],
  ['  CPU ms: worker | floor process', (r) => fmt(r.perDelivery.cpuMs.worker, 2)],
  ['  CPU ms: Temporal server', (r) => fmt(r.perDelivery.cpuMs.temporal, 2)],
  ['  CPU ms: Postgres (bench db)', (r) => fmt(r.perDelivery.cpuMs.postgres, 2)],
  ['  CPU ms: API process', (r) => fmt(r.perDelivery.cpuMs.api, 2)],
  ['  CPU ms: bench process', (r) => fmt(r.perDelivery.cpuMs.bench, 2)],
  ['  CPU ms: all of these (the machine)', (r) => fmt(cpuMsAll(r.perDelivery.cpuMs), 2)],
  ["the machine's cores busy with these (%)", (r) => fmt(r.coresBusy === null ? null : r.coresBusy * 100, 0)],
  ['  SQL statements: worker', (r) => fmt(r.perDelivery.sqlWorker, 2)],
  ['  SQL statements: API', (r) => fmt(r.perDelivery.sqlApi, 2)],
  ['  history events (p50)', (r) => fmt(r.history?.events, 0)],
  ['  workflow tasks (p50)', (r) => fmt(r.history?.workflowTasks, 0)],
  ['worker peak RSS (MB)', (r) => fmt(r.workerPeakRssMb)],
  ['', () => ''],
  ['load', (r) => (r.load.kind === 'closed' ? `closed ${r.load.concurrency}` : `${fmt(r.load.ratePerS)}/s`)],
  ['open loop: latest send behind (ms)', (r) => (r.load.kind === 'open' ? fmt(r.load.maxLagMs) : '—')],
  ['measured deliveries', (r) => String(r.events)],
  ['measured wall time (s)', (r) => fmt(r.durationS, 2)],
  ['receiver requests', (r) => String(r.receiverRequests)],
  ['eager starts', (r) => (r.eagerStarts === null ? '—' : String(r.eagerStarts))],
  ['e2e max (ms)', (r) => fmt(r.e2e.max)],
  ['worker RSS, life peak (MB)', (r) => fmt(r.workerLifetimePeakRssMb)],
  ['worker ready after (s)', (r) => fmt(r.workerReadyS)],
  ['CPU s: worker | floor process', (r) => fmt(r.cpu.worker, 2)],
  ['CPU s: Temporal server', (r) => fmt(r.cpu.temporal, 2)],
  ['CPU s: Postgres (bench db)', (r) => fmt(r.cpu.postgres, 2)],
  ['CPU s: Postgres (all, shared)', (r) => fmt(r.cpu.postgresAll, 2)],
  ['CPU s: API process', (r) => fmt(r.cpu.api, 2)],
  ['CPU s: bench process', (r) => fmt(r.cpu.bench, 2)],
  ['history p50: WFT queue wait (ms)', (r) => fmt(r.history?.wftQueue)],
  ['  WFT on worker (ms)', (r) => fmt(r.history?.wftRun)],
  ['  activity queue wait (ms)', (r) => fmt(r.history?.activityQueue)],
  ['  activity running (ms)', (r) => fmt(r.history?.activityRun)],
  ['  workflow start->close (ms)', (r) => fmt(r.history?.total)],
];

const LABEL = Math.max(...ROWS.map(([l]) => l.length));
const CELL = 17;

function table(title: string, runs: readonly RunResult[]): string[] {
  if (runs.length === 0) return [];
  // Wide enough for the longest run name (`one-process@50% (3)`) and a space before it.
  const width = Math.max(CELL, ...runs.map((r) => r.name.length + 1));
  const line = (label: string, cells: string[]) => `${label.padEnd(LABEL)}  ${cells.map((c) => c.padStart(width)).join('')}`;
  const out = [title, line('', runs.map((r) => r.name)), '-'.repeat(LABEL + 2 + width * runs.length)];
  for (const [label, cell] of ROWS) out.push(label === '' ? '' : line(label, runs.map(cell)));
  for (const run of runs) {
    if (!run.sql) continue;
    const per = (counts: Record<string, number>, n: number) => Object.entries(counts).sort().map(([k, v]) => `${k} ${fmt(v / n, 2)}`).join(', ') || 'none';
    out.push(`${run.name} SQL per delivery: worker ${per(run.sql.worker, run.events)}; API ${per(run.sql.api, run.events)}`);
  }
  if (runs.some((r) => r.name.startsWith('one-process'))) {
    out.push('one-process: the API and the worker are one process (npm start), so its "worker" CPU, RSS and SQL are both\'s');
  }
  return [...out, ''];
}

export function textReport(meta: ReportMeta, results: BenchResults): string {
  const o = meta.options;
  const out: string[] = [
    `webhook delivery benchmark — ${meta.date}`,
    `machine: ${meta.cpus} cores (${meta.cpuModel}), ${meta.memoryGb} GB RAM, Node ${meta.node}`,
    `Temporal: ${meta.temporal}`,
    ...(results.fileStore ? [`file run: ${results.fileStore}`] : []),
    `database: ${meta.database}`,
    `Node processes run with ${Object.entries(meta.processEnv).map(([name, value]) => `${name}=${value}`).join(' ')} (as the Docker image runs them)`,
    `saturated runs: ${o.events} deliveries (+${o.warmup} warm-up${o.repeat > 1 ? `, +${laterWarmup(o.warmup)} before each later round` : ''}), concurrency ${o.concurrency}, body ${meta.bodyBytes} bytes, ${o.workers} worker process${o.workers === 1 ? '' : 'es'}${o.quick ? ' (--quick)' : ''}`,
    '',
  ];
  const later = (r: RunResult) => / \(\d+\)$/.test(r.name);
  const saturated = results.runs.filter((r) => r.load.kind === 'closed' && !later(r));
  const steady = results.runs.filter((r) => r.load.kind === 'open');
  out.push(...table(`Saturated (closed loop)${o.repeat > 1 ? ', round 1' : ''}`, saturated));
  if (o.repeat > 1) {
    const rounds = ['floor', 'service', 'one-process', 'service-file'].flatMap((name) => roundsOf(results.runs, name));
    out.push(...table(`Saturated, every round (--repeat ${o.repeat}; the targets take the median of the rounds' ratios)`, rounds));
  }
  out.push(...table(`At a steady rate (open loop, ${o.latencySeconds} s)`, steady));

  const { reads, fanout, rss, step, visibility } = results;
  if (visibility) {
    const { plain, shown } = visibility;
    const plus = (a: number | null, b: number | null) => (a === null || b === null ? '—' : `${a >= b ? '+' : ''}${fmt(a - b, 2)}, ${a >= b ? '+' : ''}${fmt(((a - b) / b) * 100, 1)} %`);
    out.push(`A delivery's visibility (search attributes and display) on the floor: ${visibility.pairs.length} pairs of ${visibility.deliveries} deliveries, plain and shown in turn, one floor process and one dev server, concurrency ${visibility.concurrency}`);
    out.push(`  CPU ms per delivery: floor process ${fmt(plain.workerMs, 2)} plain, ${fmt(shown.workerMs, 2)} shown (${plus(shown.workerMs, plain.workerMs)}); Temporal server ${fmt(plain.temporalMs, 2)} plain, ${fmt(shown.temporalMs, 2)} shown (${plus(shown.temporalMs, plain.temporalMs)})`);
    out.push(`  pairs (plain / shown ms; floor process, Temporal): ${visibility.pairs.map((p) => `${fmt(p.plain.workerMs, 2)} / ${fmt(p.shown.workerMs, 2)}, ${fmt(p.plain.temporalMs, 2)} / ${fmt(p.shown.temporalMs, 2)}`).join('; ')}`);
    out.push(`  history events (p50) ${plain.historyEvents ?? '—'} plain, ${shown.historyEvents ?? '—'} shown; a shown workflow carried ${visibility.searchAttributes} of the service's ${visibility.searchAttributesExpected} search attributes`);
    out.push('');
  }
  if (step) {
    out.push(`Delivery step alone: deliverAttempt called directly (no Temporal), ${step.calls} calls × ${step.rounds.length} rounds at concurrency ${step.concurrency}, after ${step.warmupCalls}`);
    out.push(`  CPU ms per call: step ${fmt(step.stepMs, 3)}, the floor's activity ${fmt(step.floorMs, 3)} (×${fmt(step.ratio, 2)}); Postgres ${fmt(step.postgresMs, 3)} ms and ${fmt(step.multixacts, 2)} multixacts per step; ${fmt(step.sqlPerStep, 2)} SQL statements per step${step.failed ? `; ${step.failed} calls did not deliver` : ''}`);
    out.push(`  rounds (step / floor ms): ${step.rounds.map((x) => `${fmt(x.stepMs, 3)} / ${fmt(x.floorMs, 3)}`).join(', ')}`);
    out.push('');
  }
  if (reads) {
    const [small, large] = reads.tenants;
    out.push(`Reads: tenant with ${small?.attempts} vs ${large?.attempts} stored attempts (${small?.auditEntries} vs ${large?.auditEntries} audit entries), ${o.readCalls} calls each`);
    for (const p of reads.probes) {
      out.push(`  ${p.read.padEnd(34)} p50 ${fmt(p.small.p50).padStart(7)} → ${fmt(p.large.p50).padStart(7)} ms (×${fmt(p.p50Ratio, 2)})   p99 ${fmt(p.small.p99).padStart(7)} → ${fmt(p.large.p99).padStart(7)} ms (×${fmt(p.p99Ratio, 2)})`);
    }
    for (const t of reads.tenants) {
      if (t.visibleDeliveries !== t.attempts) out.push(`  WARNING: the ${t.label} tenant's list counts ${t.visibleDeliveries} finished deliveries of ${t.attempts} stored: the seeding bypasses something the list reads`);
    }
    out.push('');
  }
  if (fanout) {
    out.push(`Fan-out: one event to ${fanout.endpoints} endpoints`);
    out.push(`  ingest ${fmt(fanout.ingestMs)} ms, first delivery ${fmt(fanout.firstDeliveryMs)} ms, last ${fmt(fanout.lastDeliveryMs)} ms after the POST: ${fmt(fanout.deliveriesPerS)} deliveries/s`);
    const c = fanout.perDelivery.cpuMs;
    out.push(`  per delivery: CPU ms worker ${fmt(c.worker, 2)}, Temporal ${fmt(c.temporal, 2)}, Postgres ${fmt(c.postgres, 2)}, API ${fmt(c.api, 2)}, bench ${fmt(c.bench, 2)}, all ${fmt(cpuMsAll(c), 2)}; SQL worker ${fmt(fanout.perDelivery.sqlWorker, 2)}, API ${fmt(fanout.perDelivery.sqlApi, 2)}; worker peak RSS ${fmt(fanout.workerPeakRssMb)} MB`);
    out.push('');
  }
  if (rss) {
    out.push(`Worker RSS: ${rss.events} events accepted at once (in ${fmt(rss.acceptS, 1)} s), receiver holding each request ${rss.holdMs} ms`);
    const phase = (p: RssPhase) =>
      `worker RSS ${fmt(p.workerBaselineRssMb)} MB before, peak ${fmt(p.workerPeakRssMb)} MB (${fmt(p.workerPeakFileRssMb)} MB of it mapped from files: code); peak in flight ${p.peakInFlight} (accepted, not yet answered), ${p.peakAtReceiver} held at the receiver at once; all done in ${fmt(p.durationS, 1)} s`;
    out.push(`  as started: ${phase(rss)}`);
    out.push(`  ${settingOf(MAIN_THREAD_ENV)}: ${phase(rss.mainThread)}`);
    out.push(`  NODE_OPTIONS="${rss.capped.nodeOptions}": ${phase(rss.capped)}`);
    out.push(`  ${settingOf(HEAP_GROWTH_ENV)}: ${phase(rss.heapGrowth)}`);
    out.push('');
  }

  out.push('Targets (issue 11; ratios against this run\'s floor)');
  for (const t of targets(results)) {
    const value = t.value === null ? '—' : t.unit === '×' ? `${fmt(t.value, 3)}×` : `${fmt(t.value, 1)} ${t.unit}`;
    const limit = t.op === null ? '' : `${t.op} ${t.limit}${t.unit === '×' ? '' : ` ${t.unit}`}`;
    out.push(`  ${t.label.padEnd(52)} ${value.padStart(14)}  ${limit.padEnd(16)} ${t.verdict.padEnd(8)} (${t.basis})`);
  }
  for (const e of results.errors) out.push(`FAILED: ${e.run}: ${e.message}`);
  out.push('');
  out.push('e2e: accepted (202 / workflow started / direct: request sent) -> request at the receiver, one clock (epoch ms).');
  out.push('deliveries/s: deliveries / (first accepted -> last received). CPU: from the first request until the last');
  out.push('delivery was recorded. Postgres (bench db): the backends serving the bench database only.');
  out.push('history: medians over up to 50 measured workflows, from server timestamps (WFT = workflow task).');
  return out.join('\n');
}
