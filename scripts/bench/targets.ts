/** The targets of issue 11, each as a figure of this bench run next to its limit. */
import { INGEST_PARTS } from '../../src/metrics';
import type { FanoutResult } from './fanout';
import type { RunResult } from './measure';
import { ingestPartQuantiles, sumHistograms, type Buckets } from './prom';
import type { ReadsResult } from './reads';
import type { StepResult } from './step';
import type { VisibilityResult } from './visibility';
import { HEAP_GROWTH_ENV, MAIN_THREAD_ENV, settingOf, type RssPhase, type RssResult } from './rss';
import { median, ratio, summarize, type Summary } from './stats';

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
  /** The delivery step alone beside the floor's activity. */
  step: StepResult | null;
  /** The floor with and without a delivery's search attributes and display. */
  visibility: VisibilityResult | null;
  /** Runs that failed, with why. */
  errors: Array<{ run: string; message: string }>;
}

const fmt = (v: number | null | undefined, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(d));

function target(id: string, label: string, value: number | null, unit: Target['unit'], op: '>=' | '<=', limit: number, basis: string): Target {
  const verdict = value === null ? 'n/a' : (op === '>=' ? value >= limit : value <= limit) ? 'PASS' : 'MISS';
  return { id, label, value, unit, op, limit, verdict, basis };
}

/** A figure reported without a limit; no `basis`: its run was not selected or failed. */
function reported(id: string, label: string, value: number | null, unit: Target['unit'], basis: string | null | undefined, run: string): Target {
  return { id, label, value, unit, op: null, limit: null, verdict: basis ? 'reported' : 'n/a', basis: basis || run };
}

/**
 * The rss run's peak with a memory setting of docs/deploy.md (one of its later phases), held to the
 * same 300 MB, with the setting and its finishing time beside the as-started one's.
 */
function rssSettingTarget(id: string, label: string, rss: RssResult | null, pick: (rss: RssResult) => { phase: RssPhase; setting: string }): Target {
  const picked = rss && pick(rss);
  const basis = rss && picked ? `${picked.setting}; ${picked.phase.peakAtReceiver} held at the receiver, done in ${fmt(picked.phase.durationS)} s (as started: ${fmt(rss.durationS)} s)` : 'rss run';
  return target(id, label, picked?.phase.workerPeakRssMb ?? null, 'MB', '<=', 300, basis);
}

/** The runs of a saturated subject, one per `--repeat` round, in order: `service`, `service (2)`, … */
export function roundsOf(runs: readonly RunResult[], name: string): RunResult[] {
  return runs.filter((r) => r.name === name || r.name.startsWith(`${name} (`));
}

/**
 * A figure of `subject` ÷ the same figure of `base`, round by round (each round's runs were
 * measured back to back): the median of the rounds' ratios, and what it is made of.
 */
function roundRatio(subject: readonly RunResult[], base: readonly RunResult[], figure: (r: RunResult) => number | null, unit: string): { value: number | null; basis: string } {
  const pairs = subject.map((s, i) => [figure(s), base[i] ? figure(base[i]) : null] as const);
  const ratios = pairs.map(([a, b]) => ratio(a, b)).filter((r): r is number => r !== null);
  if (ratios.length === 0) return { value: null, basis: `— / — ${unit}` };
  const [a, b] = pairs[0]!;
  if (ratios.length === 1) return { value: ratios[0]!, basis: `${fmt(a)} / ${fmt(b)} ${unit}` };
  return { value: median(ratios), basis: `median of ${ratios.length} rounds: ${ratios.map((r) => fmt(r, 3)).join(', ')}` };
}

/**
 * The steady-rate rounds of a subject pooled: every delivery's e2e and hand-over time in one
 * sample, as if the rounds were one long phase (null when it has none). A p99 from one 30 s phase
 * rests on a few seconds of it; pooled, a slow burst in one round weighs what it weighs.
 */
function pooled(rounds: readonly RunResult[]): { e2e: Summary; accept: Summary; rounds: readonly RunResult[] } | null {
  if (rounds.length === 0) return null;
  return { e2e: summarize(rounds.flatMap((r) => r.samples.e2e)), accept: summarize(rounds.flatMap((r) => r.samples.accept)), rounds };
}

/** Where a pooled figure comes from: the round count, and the same figure of each round. */
function pooledBasis(p: ReturnType<typeof pooled>, figure: (s: { e2e: Summary; accept: Summary }) => number): string {
  if (!p) return '—';
  return p.rounds.length === 1 ? `${fmt(figure(p))} ms` : `${fmt(figure(p))} ms pooled over ${p.rounds.length} rounds (${p.rounds.map((r) => fmt(figure(r))).join(', ')})`;
}

/**
 * The p99 of the API's `GET /healthz` sent beside the rounds' ingest requests, pooled (empty when
 * none was timed): the part of the ingest tail that any answer of that process had on the machine.
 */
function probeBasis(p: ReturnType<typeof pooled>): string {
  const times = (p?.rounds ?? []).flatMap((r) => r.samples.probe);
  return times.length ? `; the API's GET /healthz meanwhile: p99 ${fmt(summarize(times).p99)} ms` : '';
}

/** How busy the rounds kept the machine's cores, on average (empty when not measured): the load a tail at 50 % load sits on. */
function busyBasis(p: ReturnType<typeof pooled>): string {
  const busy = (p?.rounds ?? []).map((r) => r.coresBusy).filter((b): b is number => b !== null);
  return busy.length ? `; the machine's cores ${fmt(100 * summarize(busy).mean, 0)} % busy with it` : '';
}

/** The p99 of each part of the rounds' ingest requests, their histograms pooled (empty for a floor). */
function partsBasis(p: ReturnType<typeof pooled>): string {
  const parts = (p?.rounds ?? []).reduce<Record<string, Buckets>>((sum, r) => sumHistograms(sum, r.ingestParts ?? {}), {});
  const said = INGEST_PARTS.map((part) => [part, ingestPartQuantiles(parts[part])] as const).filter(([, q]) => q !== null);
  return said.length ? `; p99 of its parts: ${said.map(([part, q]) => `${part} ${fmt(q!.p99)} ms`).join(', ')}` : '';
}

export function targets(results: BenchResults): Target[] {
  const by = (name: string) => results.runs.find((r) => r.name === name);
  const services = roundsOf(results.runs, 'service');
  const floors = roundsOf(results.runs, 'floor');
  // The service as `npm start` runs it: API and worker in one process, eager starts.
  const ones = roundsOf(results.runs, 'one-process');
  const serviceThroughput = services.length ? median(services.map((r) => r.throughput)) : null;
  const files = roundsOf(results.runs, 'service-file');
  // The steady-rate rounds: pooled for the latency targets, paired for the one-rate CPU figure.
  const services50 = roundsOf(results.runs, 'service@50%');
  const floors50 = roundsOf(results.runs, 'floor@50%');
  const s50 = pooled(services50);
  const f50 = pooled(floors50);
  const o50 = pooled(roundsOf(results.runs, 'one-process@50%'));
  const e2eP50 = (x: { e2e: Summary }) => x.e2e.p50;
  const ingestP99 = (x: { accept: Summary }) => x.accept.p99;
  const throughput = (r: RunResult) => r.throughput;
  const cpu = (key: 'worker' | 'temporal') => (r: RunResult) => r.perDelivery.cpuMs[key];
  const ratioTarget = (id: string, label: string, subject: RunResult[], figure: (r: RunResult) => number | null, unit: string, op: '>=' | '<=', limit: number, base = floors) => {
    const { value, basis } = roundRatio(subject, base, figure, unit);
    return target(id, label, value, '×', op, limit, basis);
  };
  const oneCpu = roundRatio(ones, floors, cpu('worker'), 'ms');
  // The same figure at one offered rate: saturated, the floor runs faster than the service can,
  // and a process's CPU per delivery falls as its rate grows (more of its work per wake-up).
  const sameRateCpu = roundRatio(services50, floors50, cpu('worker'), 'ms');
  const list: Target[] = [
    ratioTarget('throughput', 'service deliveries/s ÷ floor', services, throughput, 'deliveries/s', '>=', 0.6),
    ratioTarget('throughputOneProcess', '  one process: deliveries/s ÷ floor', ones, throughput, 'deliveries/s', '>=', 0.6),
    ratioTarget('workerCpu', 'worker CPU per delivery ÷ floor process', services, cpu('worker'), 'ms', '<=', 1.3),
    {
      id: 'processCpuOneProcess',
      label: '  one process: API+worker CPU ÷ floor process',
      value: oneCpu.value,
      unit: '×',
      op: null,
      limit: null,
      verdict: oneCpu.value === null ? 'n/a' : 'reported',
      basis: `${oneCpu.basis} (the API's share cannot be told apart)`,
    },
    reported('workerCpuSameRate', '  at one rate (50 % load): worker CPU ÷ floor process', sameRateCpu.value, '×', sameRateCpu.value === null ? null : `${sameRateCpu.basis} (service@50% / floor@50%)`, 'latency run'),
    ratioTarget('temporalCpu', 'Temporal CPU per delivery ÷ floor', services, cpu('temporal'), 'ms', '<=', 1.3),
    ratioTarget('temporalCpuOneProcess', '  one process: Temporal CPU per delivery ÷ floor', ones, cpu('temporal'), 'ms', '<=', 1.3),
    target('workerSql', 'worker SQL statements per successful delivery', services[0]?.perDelivery.sqlWorker ?? null, 'statements', '<=', 5, 'service run, webhooks_db_queries_total of the worker'),
    target('latencyE2eP50', 'at 50 % load: e2e p50 ÷ floor', ratio(s50?.e2e.p50, f50?.e2e.p50), '×', '<=', 1.5, `${pooledBasis(s50, e2eP50)} / ${pooledBasis(f50, e2eP50)}`),
    target('latencyE2eP50OneProcess', '  one process at 50 % load: e2e p50 ÷ floor', ratio(o50?.e2e.p50, f50?.e2e.p50), '×', '<=', 1.5, `${pooledBasis(o50, e2eP50)} / ${pooledBasis(f50, e2eP50)}`),
    target('latencyIngestP99', 'at 50 % load: API ingest p99', s50?.accept.p99 ?? null, 'ms', '<=', 50, `service@50%, POST /events: ${pooledBasis(s50, ingestP99)}${partsBasis(s50)}${probeBasis(s50)}${busyBasis(s50)}`),
    target('latencyIngestP99OneProcess', '  one process at 50 % load: API ingest p99', o50?.accept.p99 ?? null, 'ms', '<=', 50, `one-process@50%, POST /events: ${pooledBasis(o50, ingestP99)}${partsBasis(o50)}${probeBasis(o50)}${busyBasis(o50)}`),
    ratioTarget('fileStore', 'file-backed store ÷ in-memory', files, throughput, 'deliveries/s', '>=', 0.8, services),
    target('workerRss', `worker peak RSS with ${results.rss?.events ?? 1000} accepted at once`, results.rss?.workerPeakRssMb ?? null, 'MB', '<=', 300, results.rss ? `peak ${results.rss.peakInFlight} in flight, ${results.rss.peakAtReceiver} held at the receiver; ${fmt(results.rss.workerPeakFileRssMb)} MB of the peak mapped from files (code)` : 'rss run'),
    rssSettingTarget('workerRssMainThread', '  workflows on the main thread: worker peak RSS', results.rss, (rss) => ({ phase: rss.mainThread, setting: settingOf(MAIN_THREAD_ENV) })),
    rssSettingTarget('workerRssCapped', '  heap capped (NODE_OPTIONS): worker peak RSS', results.rss, (rss) => ({ phase: rss.capped, setting: rss.capped.nodeOptions })),
    rssSettingTarget('workerRssHeapGrowth', '  heaps growing by 20 %: worker peak RSS', results.rss, (rss) => ({ phase: rss.heapGrowth, setting: settingOf(HEAP_GROWTH_ENV) })),
  ];
  const fifo = by('fifo');
  const { step, visibility: shown, fanout: fan } = results;
  list.push(
    reported('fifo', 'one FIFO endpoint (ordered, one at a time): deliveries/s ÷ unordered', ratio(fifo?.throughput, serviceThroughput), '×', fifo && `${fmt(fifo.throughput)} / ${fmt(serviceThroughput)} deliveries/s`, 'fifo run'),
    reported('step', "the delivery step alone: CPU per call ÷ the floor activity's", step?.ratio ?? null, '×', step && `${fmt(step.stepMs, 3)} / ${fmt(step.floorMs, 3)} ms (step run)`, 'step run'),
    reported(
      'visibility',
      'search attributes and display: Temporal CPU, shown ÷ plain',
      shown?.temporalRatio ?? null,
      '×',
      shown && `${fmt(shown.shown.temporalMs, 2)} / ${fmt(shown.plain.temporalMs, 2)} ms; floor process ${fmt(shown.shown.workerMs, 2)} / ${fmt(shown.plain.workerMs, 2)} ms (visibility run)`,
      'visibility run',
    ),
    reported('fanout', `one event to ${fan?.endpoints ?? 1000} endpoints: time to the last delivery`, fan ? fan.lastDeliveryMs : null, 'ms', fan && `${fmt(fan.deliveriesPerS)} deliveries/s`, 'fanout run'),
  );
  return list;
}
