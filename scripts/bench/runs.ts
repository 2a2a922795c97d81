/**
 * The delivery runs: the floor, the service (saturated, then at 50 % of what it reached), the
 * floor at that same rate, the floor before issue 11 (regular activity), direct POSTs, and the
 * service on the file-backed store `npm start` uses.
 */
import { request } from 'undici';
import { deliveryWorkflowId } from '../../src/temporal/delivery-workflows';
import { connectClient } from '../../src/temporal/client';
import { FloorProcess, sameSizeBody } from './floor';
import type { floorWorkflow } from './floor-workflows';
import { Cleanup, noteResumed, pauseLinesLeftOut, progress, RUN_TAG, startFileBackedTemporal, startTemporal, type TemporalTarget } from './infra';
import { generateLoad, type LoadPlan } from './load';
import { measure, phaseRunner, type RunContext, type RunResult, type Subject } from './measure';
import { median } from './stats';
import { LATENCY_LOAD_SHARE } from './options';
import { BENCH_EVENT_TYPE, BENCH_RETRY_CONFIG, benchPayload } from './payload';
import { benchConfig, createEndpoint, healthzStatus, httpAgent, sendEvent, startOneProcessStack, startProcess, startServiceStack, workerEnv, type ServiceStack } from './service';

const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** The service as a subject: POST /events to an endpoint pointing at the receiver. */
async function serviceSubject(ctx: RunContext, stack: ServiceStack, temporal: TemporalTarget, label: string, endpoint: Record<string, unknown> = {}): Promise<Subject> {
  const endpointId = await createEndpoint(stack, {
    url: `${ctx.receiver.url}/hooks/${label}`,
    events: [BENCH_EVENT_TYPE],
    retry_config: BENCH_RETRY_CONFIG,
    ...endpoint,
  });
  progress(`${label}: API on ${stack.apiUrl}, endpoint ${endpointId}`);
  return {
    load: (plan, first) => generateLoad(plan, async (i) => (await sendEvent(stack, BENCH_EVENT_TYPE, benchPayload(i))).event_id, first),
    processes: stack.workers,
    // In the one-process shape the API is the worker process, whose CPU is counted as the worker's.
    apiProcesses: stack.workers.includes(stack.api) ? [] : [stack.api],
    readyS: stack.workerReadyS,
    temporal,
    finished: async () => total((await stack.workerCounts()).attempts),
    counters: { worker: stack.workerCounts, api: stack.apiCounts },
    workflows: { client: stack.client, workflowIdOf: (eventId) => deliveryWorkflowId(eventId, endpointId) },
    probe: async () => {
      const status = await healthzStatus(stack.apiUrl, stack.agent);
      if (status !== 200) throw new Error(`${label}: GET /healthz answered ${status}`);
    },
  };
}

const closed = (ctx: RunContext): LoadPlan => ({ kind: 'closed', count: ctx.opts.events, concurrency: ctx.opts.concurrency });
const open = (ctx: RunContext, ratePerS: number): LoadPlan => ({ kind: 'open', ratePerS, count: Math.max(10, Math.ceil(ratePerS * ctx.opts.latencySeconds)) });

/**
 * The processes of `subjects`: their workers and APIs, and their Temporal servers when a subject
 * has one of its own (the run's `shared` server, a cluster or `TEMPORAL_ADDRESS`, is never paused).
 */
function pidsOf(subjects: readonly Subject[], shared: TemporalTarget): number[] {
  return subjects.flatMap((s) => [...s.processes, ...(s.apiProcesses ?? [])].map((p) => p.pid).concat(s.temporal === shared ? [] : s.temporal.serverPids)).filter((pid) => pid > 0);
}

/**
 * Runs `fn` with `pids` paused (SIGSTOP), and resumes them (SIGCONT) however it ends. While one
 * subject is measured the others would otherwise sit beside it, idle but not quiet: a heap
 * compacted after a saturated phase, timers, polls. On 2 cores their bursts landed in the measured
 * subject's tail (a floor process spent a quarter of a core for a second during the service's
 * half-load run); in production neither shares its machine with the other.
 */
async function whilePaused<T>(pids: readonly number[], fn: () => Promise<T>): Promise<T> {
  for (const pid of pids) if (signalled(pid, 'SIGSTOP')) paused.add(pid);
  try {
    return await fn();
  } finally {
    resumePaused();
  }
}

const paused = new Set<number>();

function signalled(pid: number, signal: NodeJS.Signals): boolean {
  try {
    return process.kill(pid, signal);
  } catch {
    return false; // gone already: nothing to pause or resume
  }
}

/** Resumes whatever a phase paused; also called on Ctrl-C, before the clean-up stops the processes. */
export function resumePaused(): void {
  if (paused.size === 0) return;
  for (const pid of paused) signalled(pid, 'SIGCONT');
  paused.clear();
  noteResumed();
}

/** The name of a saturated run in round `round` of `--repeat`: `service`, then `service (2)`, … */
export function roundName(name: string, round: number): string {
  return round === 1 ? name : `${name} (${round})`;
}

/**
 * floor, service, latency, one-process, file. The saturated phases run in rounds (`--repeat`,
 * default one): each round measures the floor, the service, the service on the file-backed store
 * `npm start` uses, then the service as `npm start` runs it (API and worker in one process, eager
 * starts), each subject started once and kept, so drift of the machine or of the Temporal server
 * over the run falls on all of them alike. Then the service and
 * the floor (and the one-process service) at one steady rate, 50 % of the service's median
 * throughput (or --rate).
 */
export async function runCoreRuns(ctx: RunContext): Promise<{ runs: RunResult[]; fileStore: string | null }> {
  const { runs, repeat } = ctx.opts;
  const results: RunResult[] = [];
  let fileStore: string | null;
  const scope = new Cleanup(ctx.log);
  const quietBefore = pauseLinesLeftOut();
  try {
    // On dev servers, each subject gets one of its own: a server slows as its history and
    // visibility grow, and none should run on what another left behind.
    const ownServer = async () => (ctx.temporal.store === 'in-memory' ? startTemporal(ctx.log, scope, 'dev') : ctx.temporal);
    const floorServer = runs.includes('floor') || runs.includes('latency') ? await ownServer() : null;
    const floor = floorServer ? (await FloorProcess.start({ ...ctx, temporal: floorServer }, scope)).subject() : null;
    const serviceServer = runs.includes('service') || runs.includes('latency') ? await ownServer() : null;
    const service = serviceServer ? await serviceSubject(ctx, await startServiceStack(ctx, scope, serviceServer, 'service'), serviceServer, 'service') : null;
    const oneServer = runs.includes('one-process') ? await ownServer() : null;
    const one = oneServer ? await serviceSubject(ctx, await startOneProcessStack(ctx, scope, oneServer, 'one-process'), oneServer, 'one-process') : null;
    // The service on the file-backed store `npm start` uses, measured in the same rounds as the
    // service on its in-memory one, so each round's ratio compares two phases measured back to back.
    const fileServer = runs.includes('file') ? await startFileBackedTemporal(ctx.log, scope) : null;
    fileStore = fileServer?.description ?? null;
    const file = fileServer ? await serviceSubject(ctx, await startServiceStack(ctx, scope, fileServer, 'service-file'), fileServer, 'service-file') : null;
    // Each subject numbers its deliveries on from where its last phase stopped; it warms up once.
    const subjects = [floor, service, one, file].filter((s): s is Subject => s !== null);
    const measured = phaseRunner(ctx, (subject, run) => whilePaused(pidsOf(subjects.filter((s) => s !== subject), ctx.temporal), run));
    const phase = async (name: string, subject: Subject, plan: LoadPlan) => {
      const result = await measured(name, subject, plan);
      results.push(result);
      return result;
    };
    const throughputs: number[] = [];
    for (let round = 1; round <= repeat; round++) {
      if (floor && runs.includes('floor')) await phase(roundName('floor', round), floor, closed(ctx));
      if (service && runs.includes('service')) throughputs.push((await phase(roundName('service', round), service, closed(ctx))).throughput);
      if (file) await phase(roundName('service-file', round), file, closed(ctx));
      if (one) await phase(roundName('one-process', round), one, closed(ctx));
    }
    // The steady-rate phases in rounds too: one 30 s phase's tail rests on a few seconds of it, so
    // the latency targets pool the rounds' samples (see targets.ts).
    const rate = ctx.opts.rate ?? median(throughputs) * LATENCY_LOAD_SHARE;
    for (let round = 1; round <= repeat; round++) {
      if (service && runs.includes('latency')) await phase(roundName('service@50%', round), service, open(ctx, rate));
      if (floor && runs.includes('latency')) await phase(roundName('floor@50%', round), floor, open(ctx, rate));
      if (one) await phase(roundName('one-process@50%', round), one, open(ctx, rate));
    }
    const quiet = pauseLinesLeftOut() - quietBefore;
    if (quiet > 0) progress(`${quiet} error lines of resumed dev servers left out (operations whose deadlines passed while paused; BENCH_LOG_LEVEL=debug shows them)`);
  } finally {
    await scope.run();
  }
  return { runs: results, fileStore };
}

/** floor-regular: the floor before issue 11, a regular activity, started by the bench's own client. */
export async function runFloorRegular(ctx: RunContext): Promise<RunResult> {
  const taskQueue = `bench-floor-regular-${RUN_TAG}`;
  const scope = new Cleanup(ctx.log);
  try {
    const client = await connectClient(benchConfig(ctx, ctx.temporal, taskQueue), ctx.temporal.address);
    scope.add('close Temporal client', () => client.connection.close());
    const { child, readyS } = await startProcess(ctx, scope, {
      entry: 'scripts/bench/floor-regular-worker.ts',
      label: 'floor-regular-worker',
      env: workerEnv(ctx, ctx.temporal, taskQueue),
      taskQueue,
      client,
      namespace: ctx.temporal.namespace,
    });
    const url = `${ctx.receiver.url}/hooks/floor-regular`;
    const workflowIdOf = (id: string) => `bench-floor-regular-${RUN_TAG}-${id}`;
    const subject: Subject = {
      load: (plan, first) =>
        generateLoad(plan, async (index) => {
          const { id, body } = sameSizeBody(index);
          await client.workflow.start<typeof floorWorkflow>('floorWorkflow', { taskQueue, workflowId: workflowIdOf(id), args: [{ url, id, body }] });
          return id;
        }, first),
      processes: [child],
      readyS,
      temporal: ctx.temporal,
      workflows: { client, workflowIdOf },
    };
    return await measure(ctx, 'floor-regular', subject, closed(ctx), ctx.opts.warmup, 0);
  } finally {
    await scope.run();
  }
}

/** direct: the bench POSTs the body straight to the receiver (no Temporal, no database). */
export async function runDirect(ctx: RunContext): Promise<RunResult> {
  const scope = new Cleanup(ctx.log);
  try {
    const agent = httpAgent(ctx.opts.concurrency);
    scope.add('close HTTP agent', () => agent.close());
    const url = `${ctx.receiver.url}/hooks/direct`;
    const subject: Subject = {
      load: (plan, first) =>
        generateLoad(plan, async (index) => {
          const { id, body } = sameSizeBody(index);
          const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-event-id': id }, body, dispatcher: agent });
          await res.body.dump();
          if (res.statusCode !== 200) throw new Error(`receiver answered ${res.statusCode}`);
          return id;
        }, first),
      processes: [],
      readyS: null,
      temporal: { ...ctx.temporal, serverPids: [] },
      acceptedAtSend: true,
    };
    return await measure(ctx, 'direct', subject, closed(ctx), ctx.opts.warmup, 0);
  } finally {
    await scope.run();
  }
}

/**
 * fifo: the service delivering to one FIFO endpoint (in ingest order, one at a time), with
 * `--fifo-events` events sent at the usual concurrency: deliveries/s of an ordered endpoint, next
 * to the unordered service run's.
 */
export async function runFifo(ctx: RunContext): Promise<RunResult> {
  const scope = new Cleanup(ctx.log);
  try {
    const stack = await startServiceStack(ctx, scope, ctx.temporal, 'service-fifo');
    const subject = await serviceSubject(ctx, stack, ctx.temporal, 'service-fifo', { ordering: 'fifo' });
    const plan: LoadPlan = { kind: 'closed', count: ctx.opts.fifoEvents, concurrency: ctx.opts.concurrency };
    return await measure(ctx, 'fifo', subject, plan, Math.min(ctx.opts.warmup, 10), 0);
  } finally {
    await scope.run();
  }
}

