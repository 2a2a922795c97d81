import type { Server } from 'node:http';
import { NativeConnection, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { closeServer, SHUTDOWN_GRACE_MS } from '../bootstrap';
import type { Config } from '../config';
import type { Db } from '../db/knex';
import type { Logger } from '../logger';
import { createMetrics, type Metrics } from '../metrics';
import { OutboundDispatchers } from '../http/dispatchers';
import { egressPolicy } from '../security/egress';
import type { SecretBox } from '../security/secret-box';
import { connectionOptions } from './client';
import { dataConverter } from './payload-codec';
import { tracingWorkerOptions } from './tracing';
import { workerCapacity, workflowTaskSlots } from './worker-capacity';
import type { WorkflowTaskSlots } from './workflow-task-slots';
import { LeanWorker, sandboxOptions } from './lean-worker';
import type { Tracing } from '../tracing';
import { within } from '../within';
import { bundleWorkflowsApart } from './workflow-bundle';

let runtimeInstalled = false;

/** Routes the SDK's own logs (and workflow `log` calls) to pino, once per process. */
function installRuntimeLogger(log: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const sdkLog = log.child({ component: 'temporal-sdk' });
  const at = (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') => (message: string, meta?: Record<string, unknown>) =>
    sdkLog[level](meta ?? {}, message);
  Runtime.install({
    // Entry points own signal handling, so API, worker and dev server stop in order.
    shutdownSignals: [],
    logger: {
      log: (level, message, meta) => at(level.toLowerCase() as 'info')(message, meta),
      trace: at('trace'),
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
    },
  });
}

export interface WorkerDeps {
  config: Config;
  address: string;
  db: Db;
  box: SecretBox;
  log: Logger;
  /** Where activities record attempts; without it the worker gets a registry of its own. */
  metrics?: Metrics;
  /** Set: spans for workflows, activities and outbound requests (see src/tracing.ts). */
  tracing?: Tracing | null;
  /**
   * A prebuilt workflow bundle (tests build it once); otherwise workflows are bundled at start.
   * With tracing, it must have been built with {@link TRACING_WORKFLOW_MODULE}.
   */
  workflowBundle?: WorkflowBundleOption;
  taskQueue?: string;
}

/** The proxy as logged: its credentials, if any, left out. */
function proxyShown(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}`;
}

/** Asks a worker to drain and stop, whatever state it is in. */
export function stopWorker(worker: Worker): void {
  if (worker.getState() === 'RUNNING') worker.shutdown();
}

/**
 * Stops a worker and waits for `running` (its `run()`) to end: its running attempts finish and
 * are recorded first. Past `forceMs` (WORKER_SHUTDOWN_FORCE_MS) it rejects with an error naming
 * what was still in flight, and leaves the worker to the process's exit.
 */
export function drainWorker(worker: Worker, running: Promise<void>, forceMs: number): Promise<void> {
  stopWorker(worker);
  return within(running, forceMs, () => new Error(`the worker did not stop in ${forceMs} ms; in flight: ${JSON.stringify(workerInFlight(worker))}`));
}

/**
 * {@link drainWorker} while `server` (a worker's start relay, or the API beside the worker in one
 * process) lets its requests in progress finish, at the same time: the stop takes at most
 * `forceMs`, not the server's grace and then the drain. The server's requests in progress may
 * still start deliveries eagerly on the draining worker; Temporal queues those it cannot take.
 */
export async function drainWorkerBeside(server: Server | null, worker: Worker, running: Promise<void>, forceMs: number): Promise<void> {
  await Promise.all([server && closeServer(server, Math.min(SHUTDOWN_GRACE_MS, forceMs)), drainWorker(worker, running, forceMs)]);
}

/** What a worker still has running (its state and in-flight counts), for the log. */
export function workerInFlight(worker: Worker) {
  const status = worker.getStatus();
  return {
    state: status.runState,
    workflowActivations: status.numInFlightWorkflowActivations,
    activities: status.numInFlightNonLocalActivities,
    localActivities: status.numInFlightLocalActivities,
    workflowPollers: status.workflowPollerState,
    activityPollers: status.activityPollerState,
  };
}

/** A delivery worker, its connection (eager starts go through it) and its workflow-task slots (they wait on them). */
export interface CreatedWorker {
  worker: Worker;
  connection: NativeConnection;
  slots: WorkflowTaskSlots;
  close(): Promise<void>;
}

/** Creates the worker that runs deliveries; `run()` it and `stopWorker()` it on exit. */
export async function createWorker(deps: WorkerDeps): Promise<CreatedWorker> {
  installRuntimeLogger(deps.log);
  const { config } = deps;
  const connection = await NativeConnection.connect(connectionOptions(config, deps.address));
  const egress = egressPolicy(config);
  deps.log[egress.allowPrivate && config.NODE_ENV === 'production' ? 'warn' : 'info'](
    { allowPrivate: egress.allowPrivate, allowlist: config.EGRESS_ALLOWLIST ?? null, proxy: config.EGRESS_PROXY_URL ? proxyShown(config.EGRESS_PROXY_URL) : null },
    'egress policy for deliveries',
  );
  const outbound = new OutboundDispatchers({ egress, connectTimeoutMs: config.DELIVERY_TIMEOUT_MS, proxyUrl: config.EGRESS_PROXY_URL });
  const metrics = deps.metrics ?? createMetrics();
  metrics.countQueriesOf(deps.db);
  const tracing = deps.tracing ?? null;
  const built = deps.workflowBundle ? null : await bundleWorkflowsApart(deps.log, { tracing: tracing !== null });
  const slots = workflowTaskSlots(config);
  metrics.watchWorkflowTaskSlots(slots);
  let worker: Worker;
  try {
    worker = await LeanWorker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      dataConverter: dataConverter(config),
      taskQueue: deps.taskQueue ?? config.TEMPORAL_TASK_QUEUE,
      workflowBundle: deps.workflowBundle ?? { codePath: built!.codePath },
      activities: createActivities({ db: deps.db, box: deps.box, log: deps.log.child({ component: 'activity' }), metrics, outbound, egress, config }),
      ...workerCapacity(config, slots),
      ...sandboxOptions(config),
      ...tracingWorkerOptions(tracing),
    });
  } finally {
    // Worker.create has read the bundle.
    await built?.remove();
  }
  return {
    worker,
    connection,
    slots,
    async close() {
      await outbound.close();
      await connection.close();
    },
  };
}
