import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Logger } from '../../src/logger';
import { historyBreakdown, type Breakdown } from './breakdown';
import type { Cleanup, DatabaseTarget, TemporalTarget } from './infra';
import { progress } from './infra';
import type { BenchOptions, RunName } from './options';
import { cpuSnapshot, cpuUsed, type ChildWorker, type CpuSnapshot } from './procs';
import type { BenchReceiver } from './receiver';
import { generateLoad, summarize, type Sample, type Summary } from './stats';

/** What every run gets from the bench. */
export interface RunContext {
  opts: BenchOptions;
  log: Logger;
  /** Log level of the in-process API (BENCH_LOG_LEVEL, default warn). */
  logLevel: string;
  temporal: TemporalTarget;
  database: DatabaseTarget;
  receiver: BenchReceiver;
  cleanup: Cleanup;
}

/** Figures of one run. Times in ms, throughput in deliveries/s, RSS in MB, CPU in core-seconds. */
export interface RunResult {
  name: RunName;
  events: number;
  /** Requests the receiver got during the measured phase (duplicates included). */
  receiverRequests: number;
  durationS: number;
  throughput: number;
  /** Accepted (202 / workflow started / request sent) → request at the receiver. */
  e2e: Summary;
  /** Latency of the call that hands the delivery over: POST /events, workflow start, or the direct POST. */
  accept: Summary;
  /** Worker peak RSS from the start of the warm-up to the last delivery (null: no worker). */
  workerPeakRssMb: number | null;
  /** Worker peak RSS over its whole life, workflow bundling at start included. */
  workerLifetimePeakRssMb: number | null;
  /** Time from spawning the worker until its task queue had pollers, s. */
  workerReadyS: number | null;
  /** CPU used during the measured phase, per process (null: not measurable). */
  cpu: CpuSnapshot;
  /** Medians from the histories of a sample of the measured workflows (null: no workflows). */
  history: Breakdown | null;
}

export interface MeasureOptions {
  /** The delivery is "accepted" when its request was sent (direct POSTs), not when `send` resolved. */
  fromSend?: boolean;
  /** Workflows to read back after the measured phase: the client and the workflow id of a delivery id. */
  workflows?: { client: Client; workflowIdOf: (id: string) => string };
}

/** The payload of every bench event; bodies come out at about 520 bytes. */
export function benchPayload(index: number): Record<string, unknown> {
  return {
    index,
    order: { id: `ord_${String(index).padStart(8, '0')}`, amount_cents: 129_900, currency: 'EUR', status: 'paid' },
    customer: { id: 'cus_01hbenchbenchbenchbench00', email: 'bench@example.com', country: 'DE' },
    items: [
      { sku: 'SKU-0001', quantity: 2, unit_price_cents: 49_950 },
      { sku: 'SKU-0002', quantity: 1, unit_price_cents: 30_000 },
    ],
    note: 'x'.repeat(160),
  };
}

export const BENCH_EVENT_TYPE = 'bench.event';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until both the workflow and the activity task queue have a poller; returns seconds waited. */
export async function waitForPollers(
  client: Client,
  namespace: string,
  taskQueue: string,
  worker: ChildWorker,
  timeoutMs = 180_000,
): Promise<number> {
  const started = performance.now();
  const { TaskQueueType, TaskQueueKind } = temporal.api.enums.v1;
  const types = [TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY];
  for (;;) {
    worker.assertAlive();
    const answers = await Promise.all(
      types.map((taskQueueType) =>
        client.workflowService.describeTaskQueue({
          namespace,
          taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          taskQueueType,
        }),
      ),
    );
    if (answers.every((a) => (a.pollers?.length ?? 0) > 0)) return (performance.now() - started) / 1000;
    if (performance.now() - started > timeoutMs) {
      throw new Error(`${worker.label} did not poll ${taskQueue} within ${timeoutMs / 1000} s; output:\n${worker.output()}`);
    }
    await delay(250);
  }
}

/**
 * Warm-up, then the measured phase: `events` deliveries through `send` (which resolves with the
 * `x-event-id` the receiver will see once the delivery is handed over), waiting until each one
 * has reached the receiver; then, for workflow runs, a look at some of their histories.
 */
export async function measure(
  ctx: RunContext,
  name: RunName,
  send: (index: number) => Promise<string>,
  worker: { child: ChildWorker; readyS: number } | null,
  options: MeasureOptions = {},
): Promise<RunResult> {
  const { opts, receiver } = ctx;
  const rssFrom = performance.now();
  worker?.child.sample();
  if (opts.warmup > 0) {
    progress(`${name}: warm-up, ${opts.warmup} deliveries`);
    const warm = await generateLoad(opts.warmup, opts.concurrency, send);
    await receiver.waitFor(warm.map((s) => s.id), opts.timeoutMs);
  }
  receiver.reset();
  worker?.child.assertAlive();

  progress(`${name}: measuring ${opts.events} deliveries at concurrency ${opts.concurrency}`);
  const cpuFrom = cpuSnapshot(worker?.child.pid ?? null, ctx.temporal.serverPid);
  const began = performance.now();
  const samples = await generateLoad(opts.events, opts.concurrency, (i) => send(opts.warmup + i));
  await receiver.waitFor(samples.map((s) => s.id), Math.max(1_000, opts.timeoutMs - (performance.now() - began)));
  const cpuTo = cpuSnapshot(worker?.child.pid ?? null, ctx.temporal.serverPid);
  worker?.child.sample();
  const rssTo = performance.now();

  const result = analyse(name, samples, receiver, options.fromSend ?? false);
  const flows = options.workflows;
  const history = flows ? await historyBreakdown(flows.client, samples.map((s) => flows.workflowIdOf(s.id))) : null;
  return {
    ...result,
    receiverRequests: receiver.requests,
    workerPeakRssMb: worker ? worker.child.peakMb(rssFrom, rssTo) : null,
    workerLifetimePeakRssMb: worker ? worker.child.peakMb() : null,
    workerReadyS: worker?.readyS ?? null,
    cpu: cpuUsed(cpuFrom, cpuTo),
    history,
  };
}

function analyse(
  name: RunName,
  samples: readonly Sample[],
  receiver: BenchReceiver,
  fromSend: boolean,
): Pick<RunResult, 'name' | 'events' | 'durationS' | 'throughput' | 'e2e' | 'accept'> {
  const e2e: number[] = [];
  let firstAccepted = Number.POSITIVE_INFINITY;
  let lastArrival = Number.NEGATIVE_INFINITY;
  for (const s of samples) {
    const arrival = receiver.arrivalOf(s.id);
    if (arrival === undefined) throw new Error(`${name}: no arrival recorded for ${s.id}`);
    const accepted = fromSend ? s.sentAt : s.acceptedAt;
    e2e.push(arrival - accepted);
    firstAccepted = Math.min(firstAccepted, accepted);
    lastArrival = Math.max(lastArrival, arrival);
  }
  const durationS = (lastArrival - firstAccepted) / 1000;
  return {
    name,
    events: samples.length,
    durationS,
    throughput: samples.length / durationS,
    e2e: summarize(e2e),
    accept: summarize(samples.map((s) => s.acceptedAt - s.sentAt)),
  };
}
