/**
 * fanout: one event to --fanout endpoints. How long until the last delivery reached the
 * receiver, and what each delivery cost.
 */
import { epochMs } from './clock';
import { Cleanup, progress } from './infra';
import { generateLoad } from './load';
import { cpuMsPerDelivery, type CpuMs, type RunContext } from './measure';
import { phaseTimeoutMs } from './options';
import { BENCH_EVENT_TYPE, benchPayload } from './payload';
import { countsUsed } from './prom';
import { cpuSnapshot, cpuUsed } from './procs';
import { createEndpoint, sendEvent, startServiceStack, waitForAttempts } from './service';
import { runPool, summarize, type Summary } from './stats';

const FANOUT_EVENT_TYPE = 'bench.fanout';
const RETRY = { max_retries: 3, retry_delay: 250, backoff_multiplier: 2, jitter: 0, timeout_ms: 2_000 };

export interface FanoutResult {
  endpoints: number;
  /** POST /events → 202, ms. */
  ingestMs: number;
  /** POST /events sent → first and last delivery at the receiver, ms. */
  firstDeliveryMs: number;
  lastDeliveryMs: number;
  /** Deliveries / (POST sent → last delivery). */
  deliveriesPerS: number;
  /** Per delivery: 202 → request at the receiver. */
  e2e: Summary;
  receiverRequests: number;
  perDelivery: { cpuMs: CpuMs; sqlWorker: number; sqlApi: number };
  workerPeakRssMb: number | null;
}

export async function runFanout(ctx: RunContext): Promise<FanoutResult> {
  const { opts, receiver } = ctx;
  const n = opts.fanout;
  const scope = new Cleanup(ctx.log);
  try {
    const stack = await startServiceStack(ctx, scope, ctx.temporal, 'fanout');
    progress(`fanout: creating ${n} endpoints`);
    await runPool(n, 8, (i) => createEndpoint(stack, { url: `${receiver.url}/hooks/fanout/${i}`, events: [FANOUT_EVENT_TYPE], retry_config: RETRY }));
    if (opts.warmup > 0) {
      // The worker's first workflows are slow (JIT, cold caches): warm it on one endpoint of its own.
      progress(`fanout: warm-up, ${opts.warmup} deliveries`);
      await createEndpoint(stack, { url: `${receiver.url}/hooks/fanout-warmup`, events: [BENCH_EVENT_TYPE], retry_config: RETRY });
      receiver.reset();
      const warm = await generateLoad({ kind: 'closed', count: opts.warmup, concurrency: opts.concurrency }, async (i) => (await sendEvent(stack, BENCH_EVENT_TYPE, benchPayload(i))).event_id);
      await receiver.waitFor(warm.samples.map((s) => s.id), phaseTimeoutMs(opts, opts.warmup));
    }
    await waitForAttempts(stack, opts.warmup, phaseTimeoutMs(opts, opts.warmup));
    // Deliveries of one event share its event id: the receiver keys this run by delivery id.
    receiver.reset('x-delivery-id');
    const pids = stack.workers.map((w) => w.pid);
    const countsFrom = { worker: await stack.workerCounts(), api: await stack.apiCounts() };
    await ctx.pgCpu.begin();
    const cpuFrom = cpuSnapshot(pids, ctx.temporal.serverPids, [stack.api.pid]);
    const rssFrom = performance.now();

    progress(`fanout: one event to ${n} endpoints`);
    const sentAt = epochMs();
    const { deliveries } = await sendEvent(stack, FANOUT_EVENT_TYPE, benchPayload(0));
    const acceptedAt = epochMs();
    if (deliveries.length !== n) throw new Error(`the event went to ${deliveries.length} endpoints, not ${n}`);
    await receiver.waitFor(deliveries.map((d) => d.id), phaseTimeoutMs(opts, n));
    const arrivals = deliveries.map((d) => receiver.arrivalOf(d.id)!);
    await waitForAttempts(stack, opts.warmup + n, phaseTimeoutMs(opts, n));
    const cpu = cpuUsed(cpuFrom, cpuSnapshot(pids, ctx.temporal.serverPids, [stack.api.pid]));
    const postgres = await ctx.pgCpu.end();
    for (const w of stack.workers) w.sample();
    const rssTo = performance.now();
    const worker = countsUsed(countsFrom.worker, await stack.workerCounts());
    const api = countsUsed(countsFrom.api, await stack.apiCounts());
    const last = Math.max(...arrivals);
    return {
      endpoints: n,
      ingestMs: acceptedAt - sentAt,
      firstDeliveryMs: Math.min(...arrivals) - sentAt,
      lastDeliveryMs: last - sentAt,
      deliveriesPerS: n / ((last - sentAt) / 1000),
      e2e: summarize(arrivals.map((a) => a - acceptedAt)),
      receiverRequests: receiver.requests,
      perDelivery: {
        cpuMs: cpuMsPerDelivery(cpu, postgres, n),
        sqlWorker: worker.statementsTotal / Math.max(1, worker.attempts.succeeded ?? 0),
        sqlApi: api.statementsTotal / n,
      },
      workerPeakRssMb: stack.worker.peakMb(rssFrom, rssTo),
    };
  } finally {
    await scope.run();
  }
}
