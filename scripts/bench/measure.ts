import { appendFileSync } from 'node:fs';
import os from 'node:os';
import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import type { Logger } from '../../src/logger';
import { historyBreakdown, type Breakdown } from './breakdown';
import { delay } from './clock';
import type { Cleanup, DatabaseTarget, TemporalTarget } from './infra';
import { progress } from './infra';
import { generateLoad, type LoadOutcome, type LoadPlan, type Sample } from './load';
import { phaseTimeoutMs, type BenchOptions } from './options';
import type { PostgresCpu } from './pg-cpu';
import { countsUsed, sumHistograms, type Buckets, type ServiceCounts } from './prom';
import { cpuSnapshot, cpuUsed, type ChildWorker, type CpuSnapshot } from './procs';
import type { BenchReceiver } from './receiver';
import { summarize, type Summary } from './stats';

/** What every run gets from the bench. */
export interface RunContext {
  opts: BenchOptions;
  log: Logger;
  /** Log level of the in-process API (BENCH_LOG_LEVEL, default warn). */
  logLevel: string;
  /** The Temporal server of the delivery runs (the file run brings its own). */
  temporal: TemporalTarget;
  database: DatabaseTarget;
  receiver: BenchReceiver;
  pgCpu: PostgresCpu;
  cleanup: Cleanup;
}

/** What delivers in a phase, and where the bench reads what it cost. */
export interface Subject {
  /** Hands the deliveries of `plan` over (numbered from `firstIndex`); resolves once all are accepted. */
  load(plan: LoadPlan, firstIndex: number): Promise<LoadOutcome & { eager?: number }>;
  /** The delivering processes (service workers, the floor process): their CPU and RSS. */
  processes: ChildWorker[];
  /** The service's API processes, apart from the delivering ones: their CPU. */
  apiProcesses?: ChildWorker[];
  /** Seconds from spawning the delivering process until it polled. */
  readyS: number | null;
  temporal: TemporalTarget;
  /** Deliveries finished so far, past the POST (attempts recorded, POSTs counted); for settling. */
  finished?(): Promise<number>;
  /** The service's own counters: in its worker(s), and in its API. */
  counters?: { worker(): Promise<ServiceCounts>; api(): Promise<ServiceCounts> };
  /** Workflows to read back: the client and the workflow id of a delivery's receiver id. */
  workflows?: { client: Client; workflowIdOf(id: string): string };
  /** "Accepted" is when the request left (direct POSTs), not when `load` saw it accepted. */
  acceptedAtSend?: boolean;
  /**
   * The API's simplest answer (`GET /healthz`), timed beside an open-loop phase's ingest requests
   * ({@link PROBE_PER_S} a second): what any answer of that process costs on the machine as it is
   * in that phase, against which ingest's own time can be read.
   */
  probe?(): Promise<void>;
}

/** Figures of one measured phase. Times in ms, RSS in MB, CPU in core-seconds. */
export interface RunResult {
  name: string;
  load: { kind: 'closed'; concurrency: number } | { kind: 'open'; ratePerS: number; maxLagMs: number };
  events: number;
  /** Requests the receiver got during the phase (duplicates included). */
  receiverRequests: number;
  durationS: number;
  /** Deliveries / (first accepted → last at the receiver). */
  throughput: number;
  /** Accepted (202 / workflow started / request sent) → request at the receiver. */
  e2e: Summary;
  /** The hand-over call: POST /events, workflow start, or the direct POST itself. */
  accept: Summary;
  /** The API's `GET /healthz` beside an open-loop phase (null: the subject has no API, or a closed loop). */
  probe: Summary | null;
  /** Every delivery's e2e and hand-over times, and the probe's times, ms, so that rounds can be pooled (not in the JSON). */
  samples: { e2e: number[]; accept: number[]; probe: number[] };
  /** Floor: workflows the server started eagerly (null: not asked). */
  eagerStarts: number | null;
  workerPeakRssMb: number | null;
  workerLifetimePeakRssMb: number | null;
  workerReadyS: number | null;
  /** CPU from the first request to the last delivery's recorded end. */
  cpu: { bench: number; api: number | null; worker: number | null; temporal: number | null; postgres: number | null; postgresAll: number | null };
  /**
   * How busy these processes kept the machine's cores over that window, 0–1: their CPU seconds
   * over (the window × cores). A tail at 50 % load is read against it (null: none measured).
   */
  coresBusy: number | null;
  /** Per delivery: CPU ms by process, and the service's SQL statements. */
  perDelivery: {
    cpuMs: CpuMs;
    /** Worker statements per successful delivery. */
    sqlWorker: number | null;
    /** API statements per accepted event. */
    sqlApi: number | null;
  };
  sql: { worker: Record<string, number>; api: Record<string, number>; attempts: Record<string, number> } | null;
  /**
   * The service's ingest requests timed by part (`webhooks_ingest_part_duration_seconds`, the
   * API's and the workers' together: in one process they are the same): histograms by part, so
   * that rounds can be pooled. Null for the floors.
   */
  ingestParts: Record<string, Buckets> | null;
  history: Breakdown | null;
}

/** Waits until both the workflow and the activity task queue have `minPollers` pollers; returns seconds waited. */
export async function waitForPollers(client: Client, namespace: string, taskQueue: string, worker: ChildWorker, timeoutMs = 180_000, minPollers = 1): Promise<number> {
  const started = performance.now();
  const { TaskQueueType, TaskQueueKind } = proto.api.enums.v1;
  const types = [TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY];
  for (;;) {
    worker.assertAlive();
    const answers = await Promise.all(
      types.map((taskQueueType) =>
        client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL }, taskQueueType }),
      ),
    );
    if (answers.every((a) => (a.pollers?.length ?? 0) >= minPollers)) return (performance.now() - started) / 1000;
    if (performance.now() - started > timeoutMs) throw new Error(`${worker.label} did not poll ${taskQueue} within ${timeoutMs / 1000} s; output:\n${worker.output()}`);
    await delay(250);
  }
}

/** Waits until `subject` has finished `target` deliveries (past their POST). */
async function settle(subject: Subject, target: number, timeoutMs: number): Promise<void> {
  if (!subject.finished) return;
  const deadline = performance.now() + timeoutMs;
  for (let done = await subject.finished(); done < target; done = await subject.finished()) {
    if (performance.now() > deadline) throw new Error(`only ${done} of ${target} deliveries were recorded as finished`);
    for (const p of subject.processes) p.assertAlive();
    await delay(50);
  }
}

/** How many `GET /healthz` a second an open-loop phase of a subject with an API sends beside its load. */
export const PROBE_PER_S = 10;

/**
 * Times `probe` at {@link PROBE_PER_S} a second (open loop) for as long as `plan` takes to send:
 * each probe's time, ms, in the order they were sent.
 */
async function probeBeside(plan: LoadPlan, probe: () => Promise<void>): Promise<Sample[]> {
  if (plan.kind !== 'open') return [];
  const count = Math.max(1, Math.floor((plan.count / plan.ratePerS) * PROBE_PER_S));
  const { samples } = await generateLoad({ kind: 'open', ratePerS: PROBE_PER_S, count }, async () => (await probe(), 'healthz'));
  return samples;
}

/** Sends deliveries and waits until they arrived and finished. */
async function deliver(ctx: RunContext, subject: Subject, plan: LoadPlan, firstIndex: number) {
  const finishedBefore = (await subject.finished?.()) ?? 0;
  const outcome = await subject.load(plan, firstIndex);
  const timeout = phaseTimeoutMs(ctx.opts, plan.count);
  await ctx.receiver.waitFor(outcome.samples.map((s) => s.id), timeout);
  await settle(subject, finishedBefore + plan.count, timeout);
  return outcome;
}

/**
 * How long an open-loop phase first runs at its rate, unmeasured: a subject that has just finished
 * a saturated phase (its Temporal server still writing that phase's visibility and deletions) or
 * has been idle is not yet in the steady state the phase is about.
 */
export const OPEN_WARMUP_S = 3;

/** The deliveries of an open-loop phase's warm-up at its rate (none for a closed loop). */
export function openWarmupCount(plan: LoadPlan): number {
  return plan.kind === 'open' ? Math.ceil(plan.ratePerS * OPEN_WARMUP_S) : 0;
}

/** CPU ms per delivery by process: the bench's own, the API's, the worker's (or floor process's), Temporal's, Postgres's (the bench database's backends). */
export interface CpuMs {
  bench: number;
  api: number | null;
  worker: number | null;
  temporal: number | null;
  postgres: number | null;
}

/** A phase's CPU seconds by process (`postgres`: the bench database's backends, read apart) as CPU ms per delivery. */
export function cpuMsPerDelivery(cpu: CpuSnapshot, postgres: number | null, deliveries: number): CpuMs {
  const perMs = (s: number | null) => (s === null ? null : (s * 1000) / deliveries);
  return { bench: perMs(cpu.bench)!, api: perMs(cpu.api), worker: perMs(cpu.worker), temporal: perMs(cpu.temporal), postgres: perMs(postgres) };
}

/**
 * The CPU ms of every process a delivery went through, the bench's own included: what the
 * delivery cost the machine (null when no delivering process was measured).
 */
export function cpuMsAll(c: CpuMs): number | null {
  if (c.worker === null) return null;
  return c.bench + c.worker + (c.api ?? 0) + (c.temporal ?? 0) + (c.postgres ?? 0);
}

/** The share of the machine's cores that `deliveries` at `cpuMs` each took over `windowS` seconds (null: no delivering process measured). */
export function coresBusy(cpuMs: CpuMs, deliveries: number, windowS: number): number | null {
  const all = cpuMsAll(cpuMs);
  if (all === null || windowS <= 0) return null;
  return (all * deliveries) / 1000 / windowS / os.cpus().length;
}

/** Delivery indices a phase uses: its warm-ups and its plan. */
export function indicesUsed(plan: LoadPlan, warmup: number): number {
  return warmup + openWarmupCount(plan) + plan.count;
}

/**
 * Deliveries a subject sends, unmeasured, before each closed-loop phase after its first. The core
 * runs pause the subjects not being measured, their dev servers too, and a dev server resumed
 * after a pause first loses its shard for about a second (its persistence calls ran past their
 * deadlines while it was stopped: `shard status unknown`, starts refused meanwhile); seen at the
 * start of a measured phase on 2026-12-04. An open-loop phase runs {@link OPEN_WARMUP_S} seconds
 * at its rate first anyway.
 */
export const RESUMED_WARMUP = 20;

/** The deliveries sent before a subject's later closed-loop phases: {@link RESUMED_WARMUP}, at most `--warmup`. */
export function laterWarmup(warmup: number): number {
  return Math.min(warmup, RESUMED_WARMUP);
}

/**
 * Measures phases of several subjects in turn: each subject warms up before its first phase
 * (`--warmup`), and before each later closed-loop phase sends {@link RESUMED_WARMUP} more (at most
 * `--warmup`), and numbers its deliveries on from where its last phase stopped. `around` runs
 * each measurement (the core runs pause the other subjects' processes meanwhile).
 */
export function phaseRunner(ctx: RunContext, around: <T>(subject: Subject, run: () => Promise<T>) => Promise<T> = (_subject, run) => run()) {
  const next = new Map<Subject, number>();
  return async (name: string, subject: Subject, plan: LoadPlan): Promise<RunResult> => {
    const first = next.get(subject);
    const warmup = first === undefined ? ctx.opts.warmup : plan.kind === 'closed' ? laterWarmup(ctx.opts.warmup) : 0;
    const result = await around(subject, () => measure(ctx, name, subject, plan, warmup, first ?? 0));
    next.set(subject, (first ?? 0) + indicesUsed(plan, warmup));
    return result;
  };
}

/**
 * One measured phase: `warmup` deliveries first (closed loop, awaited), then for an open loop
 * {@link OPEN_WARMUP_S} seconds at its rate (awaited), then `plan`, waiting until every delivery
 * reached the receiver and finished; CPU, counters and RSS over the phase; then a look at some of
 * the phase's workflow histories.
 */
export async function measure(ctx: RunContext, name: string, subject: Subject, plan: LoadPlan, warmup: number, firstIndex: number): Promise<RunResult> {
  const { opts, receiver } = ctx;
  const rssFrom = performance.now();
  for (const p of subject.processes) p.sample();
  if (warmup > 0) {
    progress(`${name}: warm-up, ${warmup} deliveries`);
    await deliver(ctx, subject, { kind: 'closed', count: warmup, concurrency: opts.concurrency }, firstIndex);
  }
  const atRate = openWarmupCount(plan);
  if (plan.kind === 'open' && atRate > 0) {
    progress(`${name}: warm-up, ${OPEN_WARMUP_S} s at ${plan.ratePerS.toFixed(1)}/s`);
    await deliver(ctx, subject, { kind: 'open', ratePerS: plan.ratePerS, count: atRate }, firstIndex + warmup);
  }
  receiver.reset();
  const how = plan.kind === 'closed' ? `at concurrency ${plan.concurrency}` : `at ${plan.ratePerS.toFixed(1)}/s (open loop)`;
  progress(`${name}: measuring ${plan.count} deliveries ${how}`);

  const countsFrom = subject.counters && { worker: await subject.counters.worker(), api: await subject.counters.api() };
  const pids = subject.processes.map((p) => p.pid);
  const apiPids = (subject.apiProcesses ?? []).map((p) => p.pid);
  await ctx.pgCpu.begin();
  const cpuFrom = cpuSnapshot(pids, subject.temporal.serverPids, apiPids);
  const cpuFromAt = performance.now();
  const [outcome, probes] = await Promise.all([
    deliver(ctx, subject, plan, firstIndex + warmup + atRate),
    subject.probe ? probeBeside(plan, subject.probe) : Promise.resolve([]),
  ]);
  const cpu = cpuUsed(cpuFrom, cpuSnapshot(pids, subject.temporal.serverPids, apiPids));
  const postgres = await ctx.pgCpu.end();
  const cpuWindowS = (performance.now() - cpuFromAt) / 1000;
  for (const p of subject.processes) p.sample();
  const rssTo = performance.now();
  const countsTo = subject.counters && { worker: await subject.counters.worker(), api: await subject.counters.api() };

  const n = plan.count;
  const cpuMs = cpuMsPerDelivery(cpu, postgres, n);
  const timing = analyse(name, outcome.samples, receiver, subject.acceptedAtSend ?? false, probes);
  if (opts.samplesFile) appendSamples(opts.samplesFile, name, outcome.samples, probes, timing.samples);
  const worker = countsFrom && countsTo ? countsUsed(countsFrom.worker, countsTo.worker) : null;
  const api = countsFrom && countsTo ? countsUsed(countsFrom.api, countsTo.api) : null;
  const succeeded = worker?.attempts.succeeded ?? 0;
  const flows = subject.workflows;
  const history = flows ? await historyBreakdown(flows.client, outcome.samples.map((s) => flows.workflowIdOf(s.id))) : null;
  const peak = (from?: number, to?: number) => {
    const peaks = subject.processes.map((p) => p.peakMb(from, to)).filter((v): v is number => v !== null);
    return peaks.length ? Math.max(...peaks) : null;
  };
  return {
    ...timing,
    load: plan.kind === 'closed' ? { kind: 'closed', concurrency: plan.concurrency } : { kind: 'open', ratePerS: plan.ratePerS, maxLagMs: outcome.maxLagMs },
    receiverRequests: receiver.requests,
    // The floor counts its own; the service, in its workers' and API's counters.
    eagerStarts: outcome.eager ?? (worker && api ? (worker.starts.eager ?? 0) + (api.starts.eager ?? 0) : null),
    workerPeakRssMb: peak(rssFrom, rssTo),
    workerLifetimePeakRssMb: peak(),
    workerReadyS: subject.readyS,
    cpu: { ...cpu, postgres },
    coresBusy: coresBusy(cpuMs, n, cpuWindowS),
    perDelivery: {
      cpuMs,
      sqlWorker: worker ? worker.statementsTotal / Math.max(1, succeeded) : null,
      sqlApi: api ? api.statementsTotal / n : null,
    },
    sql: worker && api ? { worker: worker.statements, api: api.statements, attempts: worker.attempts } : null,
    ingestParts: worker && api ? sumHistograms(api.ingestParts, worker.ingestParts) : null,
    history,
  };
}

/** The TSV header of `--samples`; {@link appendSamples} writes its rows. */
export const SAMPLES_HEADER = 'phase\tsent_at_epoch_ms\tingest_ms\te2e_ms\n';

/**
 * One row per measured delivery of a phase to `file`, in the order they were sent, then one per
 * probe (phase `<name> GET /healthz`, its time in the ingest column, no e2e).
 */
function appendSamples(file: string, name: string, samples: readonly Sample[], probes: readonly Sample[], ms: RunResult['samples']): void {
  const rows = samples.map((s, i) => `${name}\t${s.sentAt.toFixed(1)}\t${ms.accept[i]!.toFixed(1)}\t${ms.e2e[i]!.toFixed(1)}\n`);
  probes.forEach((p, i) => rows.push(`${name} GET /healthz\t${p.sentAt.toFixed(1)}\t${ms.probe[i]!.toFixed(1)}\t\n`));
  appendFileSync(file, rows.join(''));
}

function analyse(name: string, samples: readonly Sample[], receiver: BenchReceiver, acceptedAtSend: boolean, probes: readonly Sample[]) {
  const e2e: number[] = [];
  let firstAccepted = Number.POSITIVE_INFINITY;
  let lastArrival = Number.NEGATIVE_INFINITY;
  for (const s of samples) {
    const arrival = receiver.arrivalOf(s.id);
    if (arrival === undefined) throw new Error(`${name}: no arrival recorded for ${s.id}`);
    const accepted = acceptedAtSend ? s.sentAt : s.acceptedAt;
    e2e.push(arrival - accepted);
    firstAccepted = Math.min(firstAccepted, accepted);
    lastArrival = Math.max(lastArrival, arrival);
  }
  const durationS = (lastArrival - firstAccepted) / 1000;
  const accept = samples.map((s) => s.acceptedAt - s.sentAt);
  const probe = probes.map((p) => p.acceptedAt - p.sentAt);
  return {
    name,
    events: samples.length,
    durationS,
    throughput: samples.length / durationS,
    e2e: summarize(e2e),
    accept: summarize(accept),
    probe: probes.length ? summarize(probe) : null,
    samples: { e2e, accept, probe },
  };
}
