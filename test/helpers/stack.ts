import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { Connection, type Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { startApi } from '../../src/api/start-api';
import { closeServer } from '../../src/bootstrap';
import { Receiver } from './receiver';
import { loadConfig, type Config } from '../../src/config';
import { openDatabase, type Db } from '../../src/db/knex';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import { parseKeyList, parseMasterKey, SecretBox } from '../../src/security/secret-box';
import { clientOn, eagerStarts } from '../../src/temporal/client';
import { DELIVERY_WORKFLOW, deliverySearchAttributes, directStarts, type DeliveryIn, type StartDeliveries } from '../../src/temporal/delivery-workflows';
import { relayedStarts, startRelayServer } from '../../src/temporal/start-relay';
import { createWorker, drainWorker } from '../../src/temporal/worker';
import type { WorkflowTaskSlots } from '../../src/temporal/workflow-task-slots';
import type { Tracing } from '../../src/tracing';
import { within } from '../../src/within';

export const TEST_TOKEN = 'test-token-0123456789';
export const TEST_MASTER_KEY = '6b'.repeat(32);
/** The bearer token between a test stack's API and its start relay. */
export const TEST_RELAY_TOKEN = 'relay-token-0123456789abcdef';
/** Test stacks encrypt Temporal payloads, so every test runs through the codec as production may. */
export const TEST_CODEC_KEY = '3c'.repeat(32);

/** How long one part of a stack may take to close before {@link Stack.stop} gives up on it. */
const STOP_STEP_MS = 60_000;

/** Configuration of a test stack: the run's database and Temporal, a fresh task queue. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    API_TOKEN: TEST_TOKEN,
    MASTER_KEY: TEST_MASTER_KEY,
    TEMPORAL_CODEC_KEY: TEST_CODEC_KEY,
    DATABASE_URL: process.env.TEST_DB_URL,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    TEMPORAL_TASK_QUEUE: `test-${randomBytes(6).toString('hex')}`,
    DELIVERY_TIMEOUT_MS: '3000',
    // A worker that cannot stop says so well within a hook's 90 s.
    WORKER_SHUTDOWN_FORCE_MS: '15000',
    ...overrides,
  });
}

export interface Stack {
  config: Config;
  url: string;
  db: Db;
  temporal: Client;
  worker: Worker | null;
  /** Calls the API with the test token unless `token` is given (null = no Authorization). */
  call(method: string, path: string, body?: unknown, init?: { token?: string | null; headers?: Record<string, string>; raw?: string }): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

/** Starts the API (port 0) and, unless `worker: false`, an in-process worker on its own task queue. */
export async function startStack(
  options: {
    worker?: boolean;
    env?: Record<string, string>;
    logLines?: string[];
    /** Tracing for the API, the client and the worker (with a bundle built with its workflow interceptors). */
    tracing?: Tracing;
    workflowBundlePath?: string;
    /**
     * The API hands its delivery starts to a start relay, as the API process does with
     * WORKER_START_URLS: `true`, one served by the in-process worker (which starts them eagerly);
     * URLs, relays at those addresses (each start falls back to the API's own client).
     */
    relay?: true | string[];
    /** The API starts deliveries eagerly on the in-process worker, as `npm start` does. */
    eager?: boolean;
  } = {},
): Promise<Stack> {
  const config = testConfig(options.env);
  const sink = options.logLines;
  const log = createLogger(config.LOG_LEVEL, 'test', sink ? { write: (line: string) => void sink.push(line) } : undefined);
  const db = openDatabase(config, log);
  // A stack may act for a tenant of its own (DEFAULT_TENANT_ID), so what it creates stays apart.
  await db('tenants').insert({ id: config.DEFAULT_TENANT_ID, name: config.DEFAULT_TENANT_ID }).onConflict('id').ignore();
  const box = new SecretBox(parseMasterKey(config.MASTER_KEY!), parseKeyList(config.MASTER_KEY_PREVIOUS));
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS! });
  const temporal = clientOn(config, connection, options.tracing ?? null);
  let worker: Worker | null = null;
  let running: Promise<void> | null = null;
  let closeWorker: (() => Promise<void>) | null = null;
  let startDeliveries: StartDeliveries | null = null;
  let ofWorker: { connection: NativeConnection; slots: WorkflowTaskSlots } | null = null;
  // One registry for the API and the worker, as `npm start` has: the API's /metrics serves both.
  const metrics = createMetrics();
  if (options.worker !== false) {
    const created = await createWorker({
      config,
      address: config.TEMPORAL_ADDRESS!,
      db,
      box,
      log,
      workflowBundle: { codePath: options.workflowBundlePath ?? process.env.TEST_WORKFLOW_BUNDLE! },
      tracing: options.tracing,
      metrics,
    });
    worker = created.worker;
    ofWorker = created;
    closeWorker = created.close;
    running = worker.run();
    // As `npm start` does: the API starts deliveries eagerly on this worker.
    if (options.eager) startDeliveries = eagerStarts(config, created.connection, created.slots, options.tracing ?? null);
  }
  let relayServer: Server | null = null;
  let closeRelay: (() => Promise<void>) | null = null;
  if (options.relay) {
    let urls = options.relay === true ? [] : options.relay;
    if (options.relay === true) {
      if (!ofWorker) throw new Error('relay: true needs the in-process worker');
      const relay = await startRelayServer({
        start: eagerStarts(config, ofWorker.connection, ofWorker.slots, options.tracing ?? null),
        host: '127.0.0.1',
        port: 0,
        token: TEST_RELAY_TOKEN,
        log,
        onStarted: (seconds) => metrics.observeIngestPart('relayed', seconds),
      });
      relayServer = relay.server;
      urls = [relay.url];
    }
    const relayed = relayedStarts({
      urls,
      token: TEST_RELAY_TOKEN,
      timeoutMs: 2_000,
      fallback: directStarts(temporal, config.TEMPORAL_TASK_QUEUE),
      log,
      onRequest: (starts, answered) => metrics.observeRelayRequest(starts, answered),
    });
    startDeliveries = relayed.start;
    closeRelay = relayed.close;
  }
  const { server, url } = await startApi({ config, db, box, temporal, startDeliveries, log, metrics, tracing: options.tracing });

  const call: Stack['call'] = async (method, path, body, init = {}) => {
    const token = init.token === undefined ? TEST_TOKEN : init.token;
    const headers: Record<string, string> = { ...init.headers };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined = init.raw;
    if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(url + path, { method, headers, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text so assertions show it
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };

  return {
    config,
    url,
    db,
    temporal,
    worker,
    call,
    async stop() {
      // Every part is closed even when one fails or hangs, and the first failure is thrown: a
      // stop that hung left a CI run waiting for good, with no word of which part held it.
      const failures: Error[] = [];
      const step = async (what: string, close: () => Promise<unknown>) => {
        await within(close(), STOP_STEP_MS, () => new Error(`stop: ${what} did not close in ${STOP_STEP_MS} ms`)).catch((err: Error) => void failures.push(err));
      };
      await step('the API server', () => closeServer(server as Server));
      if (closeRelay) await step('the start relay client', closeRelay);
      if (relayServer) await step('the start relay server', () => closeServer(relayServer!));
      if (worker && running) {
        await step('the worker', () => drainWorker(worker!, running!, config.WORKER_SHUTDOWN_FORCE_MS));
        if (closeWorker) await step("the worker's connection", closeWorker);
      }
      await step("the client's connection", () => connection.close().catch(() => undefined));
      await step('the database pool', () => db.destroy());
      if (failures.length > 0) throw failures[0];
    },
  };
}

/** Polls `probe` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A stack with a worker plus a test receiver, started once per test file. */
export async function startStackWithReceiver(options: Parameters<typeof startStack>[0] = {}): Promise<{ stack: Stack; receiver: Receiver }> {
  const [stack, receiver] = await Promise.all([startStack(options), Receiver.start()]);
  return { stack, receiver };
}

/** Stops what {@link startStackWithReceiver} started (either may be missing after a failed start). */
export async function stopAll(stack: Stack | undefined, receiver: Receiver | undefined): Promise<void> {
  await stack?.stop();
  await receiver?.close();
}

/**
 * Starts a stored delivery's workflow 1 s late (its first task is queued then, not eager), so a
 * test can act on it before its first task runs (cancel it, signal it).
 */
export function startDeliveryLate(stack: Stack, workflowId: string, input: DeliveryIn) {
  return stack.temporal.workflow.start(DELIVERY_WORKFLOW, {
    taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
    workflowId,
    args: [input],
    typedSearchAttributes: deliverySearchAttributes(input),
    startDelay: '1s',
  });
}

/**
 * A workflow's history as text, for searching it for secrets: the stored JSON, then every payload
 * decoded through the stack's codec (the history holds ciphertext) and read as UTF-8.
 */
export async function historyText(stack: Stack, workflowId: string): Promise<string> {
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  const groups: Payload[][] = [];
  const walk = (value: unknown): void => {
    if (!value || typeof value !== 'object' || value instanceof Uint8Array) return;
    const payloads = (value as { payloads?: unknown }).payloads;
    if (Array.isArray(payloads)) groups.push(payloads as Payload[]);
    for (const child of Object.values(value)) walk(child);
  };
  walk(history);
  const codecs = [...stack.temporal.options.loadedDataConverter.payloadCodecs].reverse();
  const texts: string[] = [];
  for (let payloads of groups) {
    for (const codec of codecs) payloads = await codec.decode(payloads);
    texts.push(...payloads.map((p) => Buffer.from(p.data ?? []).toString('utf8')));
  }
  return `${JSON.stringify(history)}\n${texts.join('\n')}`;
}
