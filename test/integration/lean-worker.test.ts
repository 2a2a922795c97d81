import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { eventually } from '../helpers/stack';
import { ServiceProcess } from '../helpers/service-process';

/**
 * LeanWorker and the sandbox options (`sandboxOptions`): an activation timeout of 0 means no
 * bound on a workflow activation, with no watchdog thread per call into the sandbox, and a
 * positive one still bounds it, as in the SDK; WORKER_WORKFLOW_THREAD says whether the sandbox
 * runs on the worker's main thread or on a worker thread. Each worker runs in a process of its
 * own (test/fixtures/sandbox/run-worker.ts): the main-thread sandbox leaves process-wide hooks.
 */
const address = process.env.TEST_TEMPORAL_ADDRESS!;
let dir: string;
let bundlePath: string;
let connection: Connection;
let client: Client;
let queue = 0;

beforeAll(async () => {
  const quiet = () => undefined;
  const logger = { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet };
  const bundle = await bundleWorkflowCode({ workflowsPath: path.join(__dirname, '../fixtures/sandbox/workflows.ts'), logger });
  dir = await mkdtemp(path.join(tmpdir(), 'lean-worker-'));
  bundlePath = path.join(dir, 'workflows.js');
  await writeFile(bundlePath, bundle.code);
  connection = await Connection.connect({ address });
  client = new Client({ connection });
}, 60_000);

afterAll(async () => {
  await connection?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Thread = 'main' | 'separate';

/**
 * Runs `fn` with a worker process on a task queue of its own, given its activation timeout and
 * workflow thread, then stops it; `fn` also gets the worker threads creating the worker started.
 */
async function withWorker<T>(sandbox: { activationTimeoutMs: number; thread: Thread }, fn: (taskQueue: string, workerThreads: number) => Promise<T>): Promise<T> {
  const taskQueue = `lean-worker-${process.pid}-${++queue}`;
  const worker = ServiceProcess.start(`sandbox-worker-${sandbox.thread}`, 'test/fixtures/sandbox/run-worker.ts', {
    NODE_ENV: 'test',
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    WORKER_ACTIVATION_TIMEOUT_MS: String(sandbox.activationTimeoutMs),
    WORKER_WORKFLOW_THREAD: sandbox.thread,
    SANDBOX_BUNDLE: bundlePath,
  });
  try {
    const ready = await eventually(async () => {
      const line = /^\{"ready":true.*$/m.exec(worker.output(20_000))?.[0];
      if (line) return JSON.parse(line) as { workerThreads: number };
      if (!worker.alive) throw new Error(`the worker exited before it was ready: ${worker.output()}`);
      return undefined;
    }, 30_000, `${worker.name} to be ready`);
    return await fn(taskQueue, ready.workerThreads);
  } finally {
    await worker.stop();
  }
}

/** The message of the first failed workflow task of a run, once there is one. */
async function firstTaskFailure(workflowId: string): Promise<string> {
  return eventually(async () => {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const failed = history.events?.find((e) => e.workflowTaskFailedEventAttributes);
    return failed?.workflowTaskFailedEventAttributes?.failure?.message ?? undefined;
  }, 30_000, `a failed workflow task of ${workflowId}`);
}

/** Starts a workflow that spins for far longer than 100 ms in one activation; answers its first task failure. */
async function spinFailure(taskQueue: string, workflowId: string): Promise<string> {
  await client.workflow.start('spin', { taskQueue, workflowId, args: [1e11], workflowExecutionTimeout: '60s' });
  try {
    return await firstTaskFailure(workflowId);
  } finally {
    await client.workflow.getHandle(workflowId).terminate('test done');
  }
}

describe.each<Thread>(['main', 'separate'])('when the workflows run on the %s thread', (thread) => {
  // The SDK's own Worker refuses an activation timeout of 0 (it becomes vm's `timeout`, which must
  // be at least 1 ms), and leaves its workflow threads running when it does, so that is not run here.
  it('then with an activation timeout of 0 a LeanWorker runs workflows with no bound, on that thread', async () => {
    const { result, workerThreads } = await withWorker({ activationTimeoutMs: 0, thread }, async (taskQueue, workerThreads) => ({
      result: await client.workflow.execute('quick', { taskQueue, workflowId: `lean-quick-${thread}-${process.pid}`, workflowExecutionTimeout: '30s' }),
      workerThreads,
    }));
    expect(result).toBe('done');
    // The SDK's sandbox thread, or none.
    expect(workerThreads).toBe(thread === 'main' ? 0 : 1);
  });

  it('then a positive activation timeout fails the workflow task whose activation runs past it', async () => {
    const message = await withWorker({ activationTimeoutMs: 100, thread }, (taskQueue) => spinFailure(taskQueue, `lean-spin-${thread}-${process.pid}`));
    // Node's own words for vm's timeout, with the bound this worker was given.
    expect(message).toMatch(/timed out after 100ms/);
  });
});
