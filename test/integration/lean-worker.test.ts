import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, type Worker, type WorkflowBundle } from '@temporalio/worker';
import { activationTimeoutOptions, LeanWorker } from '../../src/temporal/lean-worker';
import { eventually } from '../helpers/stack';

/**
 * LeanWorker: an `isolateExecutionTimeout` of 0 means no bound on a workflow activation, with no
 * watchdog thread per call into the sandbox; a positive one still bounds it, as in the SDK.
 */
const address = process.env.TEST_TEMPORAL_ADDRESS!;
let bundle: WorkflowBundle;
let nativeConnection: NativeConnection;
let connection: Connection;
let client: Client;
let queue = 0;

beforeAll(async () => {
  const quiet = () => undefined;
  const logger = { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet };
  bundle = await bundleWorkflowCode({ workflowsPath: path.join(__dirname, '../fixtures/sandbox/workflows.ts'), logger });
  nativeConnection = await NativeConnection.connect({ address });
  connection = await Connection.connect({ address });
  client = new Client({ connection });
}, 60_000);

afterAll(async () => {
  await connection?.close();
  await nativeConnection?.close();
});

/** Runs `fn` with a worker of `kind` on a task queue of its own, then shuts it down. */
async function withWorker<T>(kind: typeof Worker, activationTimeoutMs: number, fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `lean-worker-${process.pid}-${++queue}`;
  const worker = await kind.create({ connection: nativeConnection, taskQueue, workflowBundle: bundle, ...activationTimeoutOptions({ WORKER_ACTIVATION_TIMEOUT_MS: activationTimeoutMs }) });
  return worker.runUntil(fn(taskQueue));
}

/** The message of the first failed workflow task of a run, once there is one. */
async function firstTaskFailure(workflowId: string): Promise<string> {
  return eventually(async () => {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const failed = history.events?.find((e) => e.workflowTaskFailedEventAttributes);
    return failed?.workflowTaskFailedEventAttributes?.failure?.message ?? undefined;
  }, 30_000, `a failed workflow task of ${workflowId}`);
}

describe('when the activation timeout is 0', () => {
  // The SDK's own Worker refuses 0 (it becomes vm's `timeout`, which must be at least 1 ms), and
  // leaves its workflow threads running when it does, so that is not run here.
  it('then a LeanWorker runs workflows with no bound', async () => {
    const result = await withWorker(LeanWorker, 0, (taskQueue) =>
      client.workflow.execute('quick', { taskQueue, workflowId: `lean-quick-${process.pid}`, workflowExecutionTimeout: '30s' }),
    );
    expect(result).toBe('done');
  });
});

describe('when the activation timeout is positive', () => {
  it('then a LeanWorker fails the workflow task whose activation runs past it', async () => {
    const workflowId = `lean-spin-${process.pid}`;
    const message = await withWorker(LeanWorker, 100, async (taskQueue) => {
      await client.workflow.start('spin', { taskQueue, workflowId, args: [1e11], workflowExecutionTimeout: '60s' });
      try {
        return await firstTaskFailure(workflowId);
      } finally {
        await client.workflow.getHandle(workflowId).terminate('test done');
      }
    });
    // Node's own words for vm's timeout, with the bound this worker was given.
    expect(message).toMatch(/timed out after 100ms/);
  });
});
