import { Agent, request } from 'undici';
import { closeServer, startApi } from '../../src/bootstrap';
import { loadConfig, type Config } from '../../src/config';
import { deliveryWorkflowId } from '../../src/temporal/delivery-workflows';
import { openDatabase } from '../../src/db/knex';
import { newId } from '../../src/ids';
import { parseMasterKey, SecretBox } from '../../src/security/secret-box';
import { eventBody } from '../../src/services/ingest';
import { connectClient } from '../../src/temporal/client';
import type { floorWorkflow } from './floor-workflows';
import { BENCH_API_TOKEN, BENCH_MASTER_KEY, Cleanup, progress, RUN_TAG } from './infra';
import { BENCH_EVENT_TYPE, benchPayload, measure, waitForPollers, type RunContext, type RunResult } from './measure';
import { ChildWorker } from './procs';

/** Environment of a worker process and base of the in-process configs. */
function workerEnv(ctx: RunContext, taskQueue: string): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATABASE_URL: ctx.database.url,
    TEMPORAL_ADDRESS: ctx.temporal.address,
    TEMPORAL_NAMESPACE: ctx.temporal.namespace,
    TEMPORAL_TASK_QUEUE: taskQueue,
    MASTER_KEY: BENCH_MASTER_KEY,
    API_TOKEN: BENCH_API_TOKEN,
    // The receiver is on loopback; and no metrics port that another process could hold.
    EGRESS_ALLOW_PRIVATE: 'true',
    WORKER_METRICS_PORT: '0',
  };
}

/** Config of the bench process's own side of a run (env knobs such as WORKER_* still apply). */
function benchConfig(ctx: RunContext, taskQueue: string): Config {
  return loadConfig({ ...process.env, ...workerEnv(ctx, taskQueue), LOG_LEVEL: ctx.logLevel, HOST: '127.0.0.1', PORT: '0' });
}

/** Starts a worker process and waits until it polls its task queue; stopped by `scope` (and at exit). */
async function startWorker(
  ctx: RunContext,
  scope: Cleanup,
  entry: string,
  taskQueue: string,
  client: Awaited<ReturnType<typeof connectClient>>,
): Promise<{ child: ChildWorker; readyS: number }> {
  const label = entry.includes('floor') ? 'floor-worker' : 'service-worker';
  progress(`${label}: starting (${entry}, task queue ${taskQueue}); it bundles its workflows first`);
  const child = ChildWorker.spawn(entry, workerEnv(ctx, taskQueue), label);
  scope.add(`stop ${label}`, () => child.stop());
  ctx.cleanup.add(`stop ${label}`, () => child.stop());
  const readyS = await waitForPollers(client, ctx.temporal.namespace, taskQueue, child);
  progress(`${label}: polling after ${readyS.toFixed(1)} s (pid ${child.pid})`);
  return { child, readyS };
}

function httpAgent(ctx: RunContext): Agent {
  return new Agent({ connections: ctx.opts.concurrency, keepAliveTimeout: 30_000, pipelining: 1 });
}

/** 1. The service: API in this process, worker in a child, deliveries to the receiver. */
export async function runService(ctx: RunContext): Promise<RunResult> {
  const taskQueue = `bench-service-${RUN_TAG}`;
  const config = benchConfig(ctx, taskQueue);
  const scope = new Cleanup(ctx.log);
  try {
    const db = openDatabase(config, ctx.log);
    scope.add('close database pool', () => db.destroy());
    const client = await connectClient(config, ctx.temporal.address);
    scope.add('close Temporal client', () => client.connection.close());
    const box = new SecretBox(parseMasterKey(BENCH_MASTER_KEY));
    const api = await startApi({ config, db, box, temporal: client, log: ctx.log });
    scope.add('stop API', () => closeServer(api.server));
    const agent = httpAgent(ctx);
    scope.add('close HTTP agent', () => agent.close());
    const auth = { authorization: `Bearer ${BENCH_API_TOKEN}`, 'content-type': 'application/json' };

    const created = await request(`${api.url}/api/v1/endpoints`, {
      method: 'POST',
      headers: auth,
      dispatcher: agent,
      body: JSON.stringify({
        url: `${ctx.receiver.url}/hooks/service`,
        events: [BENCH_EVENT_TYPE],
        description: 'npm run bench',
        retry_config: { max_retries: 3, retry_delay: 250, backoff_multiplier: 2, jitter: 0, timeout_ms: 2_000 },
      }),
    });
    const createdText = await created.body.text();
    if (created.statusCode !== 201) throw new Error(`creating the endpoint failed: ${created.statusCode} ${createdText}`);
    const endpointId = (JSON.parse(createdText) as { data: { id: string } }).data.id;
    progress(`service: API on ${api.url}, endpoint ${endpointId}`);

    const worker = await startWorker(ctx, scope, 'src/worker.ts', taskQueue, client);
    const send = async (index: number): Promise<string> => {
      const res = await request(`${api.url}/api/v1/events`, {
        method: 'POST',
        headers: auth,
        dispatcher: agent,
        body: JSON.stringify({ type: BENCH_EVENT_TYPE, payload: benchPayload(index) }),
      });
      const text = await res.body.text();
      if (res.statusCode !== 202) throw new Error(`POST /api/v1/events answered ${res.statusCode}: ${text}`);
      return (JSON.parse(text) as { data: { event_id: string } }).data.event_id;
    };
    return await measure(ctx, 'service', send, worker, {
      workflows: { client, workflowIdOf: (eventId) => deliveryWorkflowId(eventId, endpointId) },
    });
  } finally {
    await scope.run();
  }
}

/** The same body the service would send for this event (same shape and size). */
function sameSizeBody(index: number): { id: string; body: string } {
  const id = newId('evt');
  return { id, body: eventBody(id, { type: BENCH_EVENT_TYPE, payload: benchPayload(index) }, new Date()) };
}

/** 2. The floor: one workflow per delivery whose one activity POSTs the body; started by the client. */
export async function runFloor(ctx: RunContext): Promise<RunResult> {
  const taskQueue = `bench-floor-${RUN_TAG}`;
  const config = benchConfig(ctx, taskQueue);
  const scope = new Cleanup(ctx.log);
  try {
    const client = await connectClient(config, ctx.temporal.address);
    scope.add('close Temporal client', () => client.connection.close());
    const worker = await startWorker(ctx, scope, 'scripts/bench/floor-worker.ts', taskQueue, client);
    const url = `${ctx.receiver.url}/hooks/floor`;
    const workflowIdOf = (id: string) => `bench-floor-${RUN_TAG}-${id}`;
    const send = async (index: number): Promise<string> => {
      const { id, body } = sameSizeBody(index);
      await client.workflow.start<typeof floorWorkflow>('floorWorkflow', {
        taskQueue,
        workflowId: workflowIdOf(id),
        args: [{ url, id, body }],
      });
      return id;
    };
    return await measure(ctx, 'floor', send, worker, { workflows: { client, workflowIdOf } });
  } finally {
    await scope.run();
  }
}

/** 3. Direct: the bench POSTs the body straight to the receiver. */
export async function runDirect(ctx: RunContext): Promise<RunResult> {
  const scope = new Cleanup(ctx.log);
  try {
    const agent = httpAgent(ctx);
    scope.add('close HTTP agent', () => agent.close());
    const url = `${ctx.receiver.url}/hooks/direct`;
    const send = async (index: number): Promise<string> => {
      const { id, body } = sameSizeBody(index);
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-event-id': id },
        body,
        dispatcher: agent,
      });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`receiver answered ${res.statusCode}`);
      return id;
    };
    return await measure(ctx, 'direct', send, null, { fromSend: true });
  } finally {
    await scope.run();
  }
}

/** Size in bytes of the body every run sends (for the report). */
export function bodyBytes(): number {
  return Buffer.byteLength(sameSizeBody(0).body);
}
