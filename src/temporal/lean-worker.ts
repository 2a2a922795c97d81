import { Worker, type CompiledWorkerOptions } from '@temporalio/worker';
import type { Config } from '../config';

/**
 * The SDK's `isolateExecutionTimeout` as the worker uses it: a positive number bounds every call
 * into the workflow sandbox; none (undefined) turns the bound off. The SDK itself cannot turn it
 * off: it passes its value (5 s by default) as the `timeout` of each `vm` call, and for each such
 * call Node starts and joins a watchdog thread. That costs about 80 µs of CPU per call, a dozen or
 * so calls per workflow task, and it showed as the largest single item in the workflow thread's
 * profile: 22 % of its time, more than all workflow code (see docs/benchmark.md).
 */
export function sandboxTimeoutMs(activationTimeoutMs: number): number | undefined {
  return activationTimeoutMs > 0 ? activationTimeoutMs : undefined;
}

/**
 * The sandbox's Worker options from the WORKER_* settings; the service worker and the bench's
 * floors take the same.
 * - WORKER_ACTIVATION_TIMEOUT_MS, 0 for none, as the SDK's `isolateExecutionTimeout` (which the
 *   SDK still reads but no longer lists in its WorkerOptions type, hence a spread); always given,
 *   so the SDK's own default (none in `debugMode`) never applies.
 * - WORKER_WORKFLOW_THREAD: `main` is the SDK's `debugMode`, whose one effect besides that default
 *   is to build the sandbox in the worker's own thread instead of a worker thread (the SDK says
 *   it is for attaching a debugger; it is the same reused V8 context, on the main thread). The SDK
 *   then never removes its process-wide hooks (a promise hook, `Error.prepareStackTrace`), which
 *   is right for a worker process and wrong for a process that creates many workers in turn.
 */
export function sandboxOptions(config: Pick<Config, 'WORKER_ACTIVATION_TIMEOUT_MS' | 'WORKER_WORKFLOW_THREAD'>) {
  return { isolateExecutionTimeout: config.WORKER_ACTIVATION_TIMEOUT_MS, debugMode: config.WORKER_WORKFLOW_THREAD === 'main' };
}

/**
 * The SDK's Worker, except that an `isolateExecutionTimeout` of 0 means no bound on a workflow
 * activation (see {@link sandboxTimeoutMs}) instead of a 0 ms one. Create it with
 * `LeanWorker.create(...)`: the SDK's `create` builds the workflow sandbox through the class it
 * is called on.
 */
export class LeanWorker extends Worker {
  protected static override createWorkflowCreator(...[bundle, options, logger]: Parameters<typeof Worker.createWorkflowCreator>) {
    // The SDK's sandboxes pass the value on as vm's `timeout`, where undefined means none.
    const compiled: CompiledWorkerOptions = { ...options, isolateExecutionTimeoutMs: sandboxTimeoutMs(options.isolateExecutionTimeoutMs) as number };
    return super.createWorkflowCreator(bundle, compiled, logger);
  }
}
