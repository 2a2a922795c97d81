/**
 * rss: the worker's memory with many deliveries in flight. --in-flight events are accepted as
 * fast as the API takes them while the receiver holds every request --hold-ms; the worker's RSS
 * is sampled every 250 ms until the last delivery is recorded. How many were really in flight is
 * reported beside it: accepted but not yet answered, and held at the receiver at once. Measured
 * four times: the worker as started by default, then with its workflow sandbox on its main
 * thread ({@link MAIN_THREAD_ENV}), then with its heap capped through NODE_OPTIONS
 * ({@link CAPPED_HEAP_NODE_OPTIONS}), then with its heaps growing slower ({@link HEAP_GROWTH_ENV}):
 * the three settings docs/deploy.md offers memory-limited workers.
 */
import { epochMs } from './clock';
import { Cleanup, progress } from './infra';
import { generateLoad } from './load';
import type { RunContext } from './measure';
import { phaseTimeoutMs } from './options';
import { BENCH_EVENT_TYPE, benchPayload } from './payload';
import { createEndpoint, sendEvent, startServiceStack, waitForAttempts } from './service';

/** The Node options of the capped phase: old space 192 MB, young generation 2 × 8 MB per isolate. */
export const CAPPED_HEAP_NODE_OPTIONS = '--max-old-space-size=192 --max-semi-space-size=8';

/** The worker's setting of the main-thread phase: one V8 heap instead of two. */
export const MAIN_THREAD_ENV = { WORKER_WORKFLOW_THREAD: 'main' } as const;

/** A phase's worker setting as written in the environment: `NAME=value`. */
export const settingOf = (env: Readonly<Record<string, string>>): string =>
  Object.entries(env)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');

/** The worker's setting of the heap-growth phase: heaps grow by a fifth past their live size between full collections. */
export const HEAP_GROWTH_ENV = { WORKER_HEAP_GROWING_PERCENT: '20' } as const;

export interface RssResult extends RssPhase {
  /** The same with {@link MAIN_THREAD_ENV} for the worker. */
  mainThread: RssPhase;
  /** The same with NODE_OPTIONS={@link CAPPED_HEAP_NODE_OPTIONS} for the worker. */
  capped: RssPhase & { nodeOptions: string };
  /** The same with {@link HEAP_GROWTH_ENV} for the worker. */
  heapGrowth: RssPhase;
}

export interface RssPhase {
  events: number;
  holdMs: number;
  /** Worker RSS just before the load (after its warm-up), MB. */
  workerBaselineRssMb: number | null;
  /** Worker peak RSS from the first request to the last recorded attempt, MB. */
  workerPeakRssMb: number | null;
  /** Of that peak, the pages mapped from files (the Node binary, the Temporal core's library: code), MB. */
  workerPeakFileRssMb: number | null;
  /** Most deliveries accepted (202) but not yet answered by the receiver, at one time (250 ms samples). */
  peakInFlight: number;
  /** Most requests held by the receiver at once. */
  peakAtReceiver: number;
  /** First request → all accepted, s. */
  acceptS: number;
  /** First request → last attempt recorded, s. */
  durationS: number;
}

export async function runRss(ctx: RunContext): Promise<RssResult> {
  const plain = await rssPhase(ctx, 'rss', {});
  const mainThread = await rssPhase(ctx, 'rss-main-thread', MAIN_THREAD_ENV);
  const capped = await rssPhase(ctx, 'rss-capped', { NODE_OPTIONS: CAPPED_HEAP_NODE_OPTIONS });
  const heapGrowth = await rssPhase(ctx, 'rss-heap-growth', HEAP_GROWTH_ENV);
  return { ...plain, mainThread, capped: { ...capped, nodeOptions: CAPPED_HEAP_NODE_OPTIONS }, heapGrowth };
}

async function rssPhase(ctx: RunContext, label: string, workerEnv: Record<string, string>): Promise<RssPhase> {
  const { opts, receiver } = ctx;
  const n = opts.inFlight;
  const scope = new Cleanup(ctx.log);
  try {
    const stack = await startServiceStack(ctx, scope, ctx.temporal, label, { workerEnv });
    await createEndpoint(stack, {
      url: `${receiver.url}/hold/${opts.holdMs}/hooks/rss`,
      events: [BENCH_EVENT_TYPE],
      retry_config: { max_retries: 3, retry_delay: 250, backoff_multiplier: 2, jitter: 0, timeout_ms: Math.min(120_000, opts.holdMs + 10_000) },
    });
    const send = async (i: number) => (await sendEvent(stack, BENCH_EVENT_TYPE, benchPayload(i))).event_id;
    if (opts.warmup > 0) {
      progress(`${label}: warm-up, ${opts.warmup} deliveries`);
      receiver.reset();
      const warm = await generateLoad({ kind: 'closed', count: opts.warmup, concurrency: opts.concurrency }, send);
      await receiver.waitFor(warm.samples.map((s) => s.id), phaseTimeoutMs(opts, opts.warmup));
      await waitForAttempts(stack, opts.warmup, phaseTimeoutMs(opts, opts.warmup));
    }
    receiver.reset();
    const baseline = stack.worker.sample();
    const from = performance.now();
    let accepted = 0;
    let peakInFlight = 0;
    const watch = setInterval(() => {
      peakInFlight = Math.max(peakInFlight, accepted - (receiver.arrived - receiver.open));
    }, 250);
    try {
      progress(`${label}: accepting ${n} events at once; the receiver holds each request ${opts.holdMs} ms`);
      const started = epochMs();
      const load = await generateLoad({ kind: 'closed', count: n, concurrency: Math.max(64, opts.concurrency) }, async (i) => {
        const id = await send(opts.warmup + i);
        accepted++;
        return id;
      });
      const acceptS = (epochMs() - started) / 1000;
      await receiver.waitFor(load.samples.map((s) => s.id), phaseTimeoutMs(opts, n) + (n * opts.holdMs) / 10);
      await waitForAttempts(stack, opts.warmup + n, phaseTimeoutMs(opts, n));
      stack.worker.sample();
      const peak = stack.worker.peak(from, performance.now());
      return {
        events: n,
        holdMs: opts.holdMs,
        workerBaselineRssMb: baseline,
        workerPeakRssMb: peak?.mb ?? null,
        workerPeakFileRssMb: peak?.fileMb ?? null,
        peakInFlight,
        peakAtReceiver: receiver.peakOpen,
        acceptS,
        durationS: (epochMs() - started) / 1000,
      };
    } finally {
      clearInterval(watch);
    }
  } finally {
    await scope.run();
  }
}
