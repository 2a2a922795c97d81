/**
 * The service as a run sees it: the API in a process of its own (`src/server.ts`), one worker per
 * process (`src/worker.ts`, its own metrics listener), tenants and endpoints made through the API.
 */
import { randomBytes } from 'node:crypto';
import { request, Agent } from 'undici';
import type { Client } from '@temporalio/client';
import { loadConfig, type Config } from '../../src/config';
import { openDatabase, type Db } from '../../src/db/knex';
import { findFreePort } from '../../src/dev/ports';
import { SCOPES } from '../../src/domain/scopes';
import { createApiKey } from '../../src/services/api-keys';
import { connectClient } from '../../src/temporal/client';
import { housekeepingScheduleId } from '../../src/temporal/housekeeping-schedule';
import { BENCH_API_TOKEN, BENCH_MASTER_KEY, Cleanup, progress, RUN_TAG, type TemporalTarget } from './infra';
import type { RunContext } from './measure';
import { waitForPollers } from './measure';
import { scrapeUrl, serviceCounts, sumByKey, sumHistograms, type ServiceCounts } from './prom';
import { ChildWorker } from './procs';

/** Environment of a worker process and base of the in-process configs. */
export function workerEnv(ctx: RunContext, temporal: TemporalTarget, taskQueue: string, extra: { metricsPort?: number; tenantId?: string; databaseUrl?: string } = {}): Record<string, string> {
  return {
    // The bootstrap token acts for this tenant: each service run has one of its own.
    DEFAULT_TENANT_ID: extra.tenantId ?? 'default',
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATABASE_URL: extra.databaseUrl ?? ctx.database.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    TEMPORAL_TASK_QUEUE: taskQueue,
    MASTER_KEY: BENCH_MASTER_KEY,
    API_TOKEN: BENCH_API_TOKEN,
    // The receiver is on loopback.
    EGRESS_ALLOW_PRIVATE: 'true',
    WORKER_METRICS_PORT: String(extra.metricsPort ?? 0),
  };
}

/** Config of the bench process's side of a run (env knobs such as WORKER_* and DATABASE_POOL_MAX still apply). */
export function benchConfig(ctx: RunContext, temporal: TemporalTarget, taskQueue: string, extra: { tenantId?: string; databaseUrl?: string } = {}): Config {
  return loadConfig({ ...process.env, ...workerEnv(ctx, temporal, taskQueue, extra), LOG_LEVEL: ctx.logLevel, HOST: '127.0.0.1', PORT: '0' });
}

/** Starts a worker-like process and waits until it polls its task queue; stopped by `scope` (and at exit). */
export async function startProcess(
  ctx: RunContext,
  scope: Cleanup,
  spec: { entry: string; label: string; env: Record<string, string>; taskQueue: string; client: Client; namespace: string; ipc?: boolean; minPollers?: number },
): Promise<{ child: ChildWorker; readyS: number }> {
  progress(`${spec.label}: starting (${spec.entry}, task queue ${spec.taskQueue}); it bundles its workflows first`);
  const child = ChildWorker.spawn(spec.entry, spec.env, spec.label, { ipc: spec.ipc ?? false });
  scope.add(`stop ${spec.label}`, () => child.stop());
  ctx.cleanup.add(`stop ${spec.label}`, () => child.stop());
  const readyS = await waitForPollers(spec.client, spec.namespace, spec.taskQueue, child, undefined, spec.minPollers);
  progress(`${spec.label}: polling after ${readyS.toFixed(1)} s (pid ${child.pid})`);
  return { child, readyS };
}

/** An HTTP client for the API: keep-alive, as many connections as requests in flight. */
export function httpAgent(connections: number): Agent {
  return new Agent({ connections, keepAliveTimeout: 30_000, pipelining: 1 });
}

/** The API side of a run: the API process, and the bench's own database pool and Temporal client. */
export interface ApiStack {
  apiUrl: string;
  /** The process serving the API (in the one-process shape, also the worker). */
  api: ChildWorker;
  /** The keep-alive HTTP client the bench calls the API with. */
  agent: Agent;
  client: Client;
  db: Db;
  taskQueue: string;
  /** The stack's tenant (its API key is the default credential; the bootstrap token acts for it too). */
  tenantId: string;
  /** Calls the API with `token` (default: an API key of the stack's tenant); the body parsed when it is JSON. */
  call(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>;
  apiCounts(): Promise<ServiceCounts>;
}

/** The API and its worker processes (`--workers`, default one). */
export interface ServiceStack extends ApiStack {
  /** The first worker process. */
  worker: ChildWorker;
  /** Every worker process, on one task queue. */
  workers: ChildWorker[];
  /** Seconds until the first worker polled. */
  workerReadyS: number;
  /** The workers' counters, summed. */
  workerCounts(): Promise<ServiceCounts>;
}

/** Calls the API at `apiUrl` with `token` (default: the stack tenant's API key); the body parsed when it is JSON. */
function apiCaller(apiUrl: string, agent: Agent, tenantKey: string): ApiStack['call'] {
  return async (method, path, body, token = tenantKey) => {
    const res = await request(`${apiUrl}${path}`, {
      method: method as 'GET',
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      dispatcher: agent,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.statusCode, body: parsed };
  };
}

function addCounts(a: ServiceCounts, b: ServiceCounts): ServiceCounts {
  return {
    statements: sumByKey(a.statements, b.statements),
    attempts: sumByKey(a.attempts, b.attempts),
    starts: sumByKey(a.starts, b.starts),
    ingestParts: sumHistograms(a.ingestParts, b.ingestParts),
  };
}

/**
 * What every service stack has: its task queue, a tenant of its own (`bench_<label>_<tag>`, so no
 * run's endpoints receive another run's events) with an API key, the bench's database pool and
 * Temporal client for it; closed by `scope`, which also deletes the housekeeping Schedule its
 * worker makes.
 */
async function stackBase(ctx: RunContext, scope: Cleanup, temporal: TemporalTarget, label: string, databaseUrl?: string) {
  const taskQueue = `bench-${label}-${RUN_TAG}`;
  const tenantId = `bench_${label}_${RUN_TAG}`.replace(/[^a-z0-9_-]/g, '_');
  const config = benchConfig(ctx, temporal, taskQueue, { tenantId, databaseUrl });
  const db = openDatabase(config, ctx.log);
  scope.add('close database pool', () => db.destroy());
  // The API is called as a tenant's own backend calls it: with an API key of that tenant.
  const token = await createTenant(db, tenantId);
  const client = await connectClient(config, temporal.address);
  scope.add('close Temporal client', () => client.connection.close());
  scope.add('delete housekeeping schedule', () => client.schedule.getHandle(housekeepingScheduleId(taskQueue)).delete().catch(() => undefined));
  return { taskQueue, tenantId, db, client, token };
}

/**
 * The API process and `--workers` worker processes on `temporal`, stopped by `scope`. The stack
 * has a tenant of its own (`bench_<label>_<tag>`, called with one of its API keys), so no run's
 * endpoints receive another run's events.
 */
export async function startServiceStack(ctx: RunContext, scope: Cleanup, temporal: TemporalTarget, label: string, options?: { workerEnv?: Record<string, string> }): Promise<ServiceStack>;
/** The same without a worker (`worker: false`): the API only, for runs that only read; on `databaseUrl` if given. */
export async function startServiceStack(ctx: RunContext, scope: Cleanup, temporal: TemporalTarget, label: string, options: { worker: false; databaseUrl?: string }): Promise<ApiStack>;
export async function startServiceStack(
  ctx: RunContext,
  scope: Cleanup,
  temporal: TemporalTarget,
  label: string,
  options: { worker?: false; databaseUrl?: string; workerEnv?: Record<string, string> } = {},
): Promise<ApiStack> {
  const { taskQueue, tenantId, db, client, token } = await stackBase(ctx, scope, temporal, label, options.databaseUrl);
  // As deployed: the API hands its delivery starts to the workers' start relays.
  const relayPorts: number[] = [];
  if (options.worker !== false) for (let n = 1; n <= ctx.opts.workers; n++) relayPorts.push(await findFreePort());
  const relayToken = randomBytes(24).toString('hex');
  const relayEnv: Record<string, string> = relayPorts.length
    ? { WORKER_START_URLS: relayPorts.map((p) => `http://127.0.0.1:${p}`).join(','), WORKER_START_TOKEN: relayToken }
    : {};
  // The API runs as it is deployed: `src/server.ts` in a process of its own, so its event loop
  // and CPU are its own, not shared with the bench's load generator and receiver.
  const port = await findFreePort();
  const apiLabel = `${label}-api`;
  progress(`${apiLabel}: starting (src/server.ts)`);
  const api = ChildWorker.spawn(
    'src/server.ts',
    { ...workerEnv(ctx, temporal, taskQueue, { tenantId, databaseUrl: options.databaseUrl }), ...relayEnv, LOG_LEVEL: ctx.logLevel, HOST: '127.0.0.1', PORT: String(port) },
    apiLabel,
  );
  scope.add(`stop ${apiLabel}`, () => api.stop());
  ctx.cleanup.add(`stop ${apiLabel}`, () => api.stop());
  const apiStack = await apiStackOn(ctx, scope, api, port, { taskQueue, tenantId, db, client, token });
  if (options.worker === false) return apiStack;

  const workers: Array<{ child: ChildWorker; readyS: number; metricsPort: number }> = [];
  for (let n = 1; n <= ctx.opts.workers; n++) {
    const metricsPort = await findFreePort();
    const { child, readyS } = await startProcess(ctx, scope, {
      entry: 'src/worker.ts',
      label: ctx.opts.workers === 1 ? `${label}-worker` : `${label}-worker-${n}`,
      env: {
        ...workerEnv(ctx, temporal, taskQueue, { metricsPort, tenantId }),
        ...(relayPorts.length ? { HOST: '127.0.0.1', WORKER_START_PORT: String(relayPorts[n - 1]), WORKER_START_TOKEN: relayToken } : {}),
        ...options.workerEnv,
      },
      taskQueue,
      client,
      namespace: temporal.namespace,
      minPollers: n,
    });
    workers.push({ child, readyS, metricsPort });
  }
  const stack: ServiceStack = {
    ...apiStack,
    worker: workers[0]!.child,
    workers: workers.map((w) => w.child),
    workerReadyS: workers[0]!.readyS,
    workerCounts: async () => {
      const counts = await Promise.all(workers.map(async (w) => serviceCounts(await scrapeUrl(`http://127.0.0.1:${w.metricsPort}/metrics`))));
      return counts.reduce(addCounts);
    },
  };
  return stack;
}

/**
 * The service as `npm start` runs it, in ONE child process (`src/main.ts` on this run's Temporal
 * and database): the API and a worker sharing the process, deliveries started eagerly on that
 * worker (EAGER_DELIVERY_START). Its one registry counts the statements of both, so they are all
 * the worker's here (the API's count is empty). Stopped by `scope`.
 */
export async function startOneProcessStack(ctx: RunContext, scope: Cleanup, temporal: TemporalTarget, label: string): Promise<ServiceStack> {
  const { taskQueue, tenantId, db, client, token } = await stackBase(ctx, scope, temporal, label);
  const port = await findFreePort();
  const { child, readyS } = await startProcess(ctx, scope, {
    entry: 'src/main.ts',
    label,
    env: { ...workerEnv(ctx, temporal, taskQueue, { tenantId }), HOST: '127.0.0.1', PORT: String(port) },
    taskQueue,
    client,
    namespace: temporal.namespace,
  });
  // The worker polls before the API listens (src/main.ts starts it first).
  const apiStack = await apiStackOn(ctx, scope, child, port, { taskQueue, tenantId, db, client, token });
  return {
    ...apiStack,
    apiCounts: async () => ({ statements: {}, attempts: {}, starts: {}, ingestParts: {} }),
    worker: child,
    workers: [child],
    workerReadyS: readyS,
    workerCounts: apiStack.apiCounts,
  };
}

/**
 * The API served by `child` on `port`: waits for its `/healthz`, then calls it with the stack's
 * API key (keep-alive agent closed by `scope`) and reads its counters from its `/metrics`.
 */
async function apiStackOn(
  ctx: RunContext,
  scope: Cleanup,
  child: ChildWorker,
  port: number,
  base: Pick<ApiStack, 'taskQueue' | 'tenantId' | 'db' | 'client'> & { token: string },
): Promise<ApiStack> {
  const apiUrl = `http://127.0.0.1:${port}`;
  const agent = httpAgent(Math.max(ctx.opts.concurrency, 64));
  scope.add('close HTTP agent', () => agent.close());
  await waitForHealthz(child, apiUrl, agent);
  const { token, ...rest } = base;
  return { ...rest, apiUrl, api: child, agent, call: apiCaller(apiUrl, agent, token), apiCounts: async () => serviceCounts(await scrapeUrl(`${apiUrl}/metrics`)) };
}

/** The status of the API's `GET /healthz` (its body read and dropped). */
export async function healthzStatus(apiUrl: string, agent: Agent): Promise<number> {
  const res = await request(`${apiUrl}/healthz`, { dispatcher: agent });
  await res.body.dump();
  return res.statusCode;
}

/** Waits until the API in `child` answers `GET /healthz` with 200 (60 s at most). */
async function waitForHealthz(child: ChildWorker, apiUrl: string, agent: Agent): Promise<void> {
  for (const deadline = performance.now() + 60_000; ; ) {
    child.assertAlive();
    const up = await healthzStatus(apiUrl, agent).then(
      (status) => status === 200,
      () => false,
    );
    if (up) return;
    if (performance.now() > deadline) throw new Error(`${child.label} did not answer ${apiUrl}/healthz within 60 s; output:\n${child.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A tenant of its own for a run (so its endpoints and data touch no other run's), with an API key. */
export async function createTenant(db: Db, tenantId: string): Promise<string> {
  await db('tenants').insert({ id: tenantId, name: tenantId }).onConflict('id').ignore();
  const { key } = await createApiKey(db, null, { tenantId, name: 'npm run bench', scopes: [...SCOPES], expiresAt: null });
  return key;
}

/** Creates an endpoint through the API; answers its id. */
export async function createEndpoint(stack: ApiStack, body: Record<string, unknown>, token?: string): Promise<string> {
  const res = await stack.call('POST', '/api/v1/endpoints', { description: 'npm run bench', ...body }, token);
  if (res.status !== 201) throw new Error(`creating an endpoint failed: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { data: { id: string } }).data.id;
}

/** POST /api/v1/events; answers the 202's data (event id and deliveries). */
export async function sendEvent(stack: ApiStack, type: string, payload: unknown, token?: string): Promise<{ event_id: string; deliveries: Array<{ id: string }> }> {
  const res = await stack.call('POST', '/api/v1/events', { type, payload }, token);
  if (res.status !== 202) throw new Error(`POST /api/v1/events answered ${res.status}: ${JSON.stringify(res.body)}`);
  return (res.body as { data: { event_id: string; deliveries: Array<{ id: string }> } }).data;
}

/** Attempts the worker has recorded so far, whatever their outcome. */
export async function attemptsRecorded(stack: ServiceStack): Promise<number> {
  return Object.values((await stack.workerCounts()).attempts).reduce((a, b) => a + b, 0);
}

/** Waits until the worker has recorded `total` attempts (they come just after the POSTs). */
export async function waitForAttempts(stack: ServiceStack, total: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (let done = await attemptsRecorded(stack); done < total; done = await attemptsRecorded(stack)) {
    stack.worker.assertAlive();
    if (performance.now() > deadline) throw new Error(`the worker recorded ${done} of ${total} attempts`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
