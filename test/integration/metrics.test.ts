import type { Server } from 'node:http';
import type { Worker } from '@temporalio/worker';
import { startApi } from '../../src/api/start-api';
import { closeServer, startMetricsServer } from '../../src/bootstrap';
import { openDatabase } from '../../src/db/knex';
import { newId } from '../../src/ids';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import { SecretBox } from '../../src/security/secret-box';
import { createWorker, stopWorker } from '../../src/temporal/worker';
import type { Receiver } from '../helpers/receiver';
import { eventually, startStackWithReceiver, stopAll, testConfig, TEST_MASTER_KEY, type Stack } from '../helpers/stack';

let stack: Stack;
let receiver: Receiver;
let worker: Worker;
let running: Promise<void>;
let closeWorker: () => Promise<void>;
/** The worker's own listener, as `src/worker.ts` starts it. */
let workerMetricsUrl: string;
/** A second API sharing the worker's registry, as `src/main.ts` wires them. */
let sharedApi: { server: Server; url: string };
let metricsServer: Server;
const ids: string[] = [];

/** Value of the first sample `name{…}` whose labels include `labels`, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const labelValues = (text: string) => [...text.matchAll(/\w+="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);

async function scrape(url: string): Promise<{ status: number; contentType: string; text: string }> {
  const res = await fetch(`${url}/metrics`);
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

beforeAll(async () => {
  // The stack's API keeps a registry of its own; the worker gets one the test can scrape.
  ({ stack, receiver } = await startStackWithReceiver({ worker: false }));
  const log = createLogger('silent', 'test');
  const box = new SecretBox(Buffer.from(TEST_MASTER_KEY, 'hex'));
  const metrics = createMetrics();
  const created = await createWorker({
    config: stack.config,
    address: stack.config.TEMPORAL_ADDRESS!,
    db: stack.db,
    box,
    log,
    metrics,
    workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
  });
  ({ worker, close: closeWorker } = created);
  running = worker.run();
  const listener = await startMetricsServer(metrics, '127.0.0.1', 0);
  metricsServer = listener.server;
  workerMetricsUrl = listener.url;
  sharedApi = await startApi({ config: stack.config, db: stack.db, box, temporal: stack.temporal, log, metrics });

  const endpoint = await stack.call('POST', '/api/v1/endpoints', { url: `${receiver.url}/hooks`, events: ['metrics.sent'] });
  expect(endpoint.status).toBe(201);
  const sent = { type: 'metrics.sent', payload: { n: 1 } };
  const event = await stack.call('POST', '/api/v1/events', sent, { headers: { 'idempotency-key': 'metrics-1' } });
  expect(event.status).toBe(202);
  const replay = await stack.call('POST', '/api/v1/events', sent, { headers: { 'idempotency-key': 'metrics-1' } });
  expect(replay.headers.get('idempotent-replayed')).toBe('true');
  const deliveryId = event.body.data.deliveries[0].id as string;
  ids.push(endpoint.body.data.id, event.body.data.event_id, deliveryId);

  expect((await stack.call('GET', `/api/v1/endpoints/${endpoint.body.data.id}`)).status).toBe(200);
  expect((await stack.call('GET', `/api/v1/endpoints/${newId('ep')}`)).status).toBe(404);
  expect((await stack.call('GET', '/api/v1/no-such-route')).status).toBe(404);
  expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: null })).status).toBe(401);
  await eventually(async () => {
    const res = await stack.call('GET', `/api/v1/deliveries/${deliveryId}`);
    return res.body.data?.status === 'succeeded' ? true : undefined;
  }, 30_000, 'the delivery to succeed');
});

afterAll(async () => {
  if (sharedApi) await closeServer(sharedApi.server);
  if (metricsServer) await closeServer(metricsServer);
  if (worker) {
    stopWorker(worker);
    await running;
    await closeWorker();
  }
  await stopAll(stack, receiver);
});

describe('when an endpoint is created and one event delivered', () => {
  it("then the API's /metrics answers 200 without auth, in the Prometheus text format", async () => {
    const res = await stack.call('GET', '/metrics', undefined, { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
    expect(res.body).toContain('# TYPE webhooks_http_requests_total counter');
    expect(res.body).toContain('# TYPE webhooks_http_request_duration_seconds histogram');
    expect(sample(res.body, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('then API requests are counted by route pattern, and requests no route answered as "unmatched"', async () => {
    const { body } = await stack.call('GET', '/metrics', undefined, { token: null });
    const count = (method: string, route: string, status: string) => sample(body, 'webhooks_http_requests_total', { method, route, status });
    expect(count('POST', '/api/v1/endpoints', '201')).toBe(1);
    expect(count('POST', '/api/v1/events', '202')).toBe(2);
    expect(count('GET', '/api/v1/endpoints/:id', '200')).toBe(1);
    // An error answered after the route matched keeps the route's pattern.
    expect(count('GET', '/api/v1/endpoints/:id', '404')).toBe(1);
    expect(count('GET', '/api/v1/deliveries/:id', '200')).toBeGreaterThanOrEqual(1);
    expect(count('GET', 'unmatched', '404')).toBe(1);
    expect(count('GET', 'unmatched', '401')).toBe(1);
    expect(sample(body, 'webhooks_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/endpoints' })).toBe(1);
  });

  it('then the ingested event is counted as created, its replay as duplicate', async () => {
    const { body } = await stack.call('GET', '/metrics', undefined, { token: null });
    expect(sample(body, 'webhooks_events_ingested_total', { result: 'created' })).toBe(1);
    expect(sample(body, 'webhooks_events_ingested_total', { result: 'duplicate' })).toBe(1);
  });

  it('then both ingest requests are timed in their admit and store parts, and the starts of the event in their own part', async () => {
    const { body } = await stack.call('GET', '/metrics', undefined, { token: null });
    const part = (name: string, p: string) => sample(body, `webhooks_ingest_part_duration_seconds_${name}`, { part: p });
    // The replay reads and stores too (its statement finds the event); it starts again only if
    // its event was not yet marked dispatched (the mark is batched over 100 ms).
    // Admit: from each request's arrival until ingest began (its body, its caller, its checks).
    expect(part('count', 'admit')).toBe(2);
    expect(part('sum', 'admit')).toBeGreaterThan(0);
    expect(part('count', 'store')).toBe(2);
    expect(part('sum', 'store')).toBeGreaterThan(0);
    expect(part('count', 'starts')).toBeGreaterThanOrEqual(1);
    expect(part('count', 'starts')).toBeLessThanOrEqual(2);
    expect(part('sum', 'starts')).toBeGreaterThan(0);
    expect(sample(body, 'webhooks_ingest_part_duration_seconds_bucket', { part: 'store', le: '+Inf' })).toBe(2);
  });

  it("then the worker's own listener counts the attempt as succeeded, with its duration", async () => {
    const res = await scrape(workerMetricsUrl);
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/plain;.*version=0\.0\.4/);
    expect(sample(res.text, 'webhooks_delivery_attempts_total', { outcome: 'succeeded', error_class: 'none' })).toBeGreaterThanOrEqual(1);
    expect(sample(res.text, 'webhooks_delivery_attempt_duration_seconds_count', { outcome: 'succeeded' })).toBeGreaterThanOrEqual(1);
  });

  it("then an API sharing the worker's registry (as `npm start` runs them) serves the attempts too", async () => {
    const res = await scrape(sharedApi.url);
    expect(res.status).toBe(200);
    expect(sample(res.text, 'webhooks_delivery_attempts_total', { outcome: 'succeeded', error_class: 'none' })).toBeGreaterThanOrEqual(1);
  });

  it('then no label value carries an endpoint, event or delivery id', async () => {
    const api = (await stack.call('GET', '/metrics', undefined, { token: null })).body as string;
    const values = [...labelValues(api), ...labelValues((await scrape(workerMetricsUrl)).text)];
    expect(values.length).toBeGreaterThan(0);
    expect(values.filter((v) => /(ep|evt|dlv)_[0-9a-z]/.test(v) || ids.some((id) => v.includes(id)))).toEqual([]);
  });
});

describe('when a process sends SQL statements', () => {
  it('then its API and its worker each count theirs, by kind', async () => {
    const api = (await stack.call('GET', '/metrics', undefined, { token: null })).body as string;
    const count = (text: string, kind: string) => sample(text, 'webhooks_db_queries_total', { kind }) ?? 0;
    // Creating the endpoint inserts it (and its key) in a transaction.
    expect(count(api, 'insert')).toBeGreaterThanOrEqual(1);
    expect(count(api, 'begin')).toBeGreaterThanOrEqual(1);
    const worker = (await scrape(workerMetricsUrl)).text;
    // The worker read what it sends, and recorded the attempt (an insert, or a CTE that inserts).
    expect(count(worker, 'select')).toBeGreaterThanOrEqual(1);
    expect(count(worker, 'insert') + count(worker, 'with')).toBeGreaterThanOrEqual(1);
  });

  it('then each statement is counted once, BEGIN and COMMIT included, however often the pool is watched', async () => {
    const metrics = createMetrics();
    const db = openDatabase(stack.config, createLogger('silent', 'test'));
    try {
      // An API and a worker sharing one pool and one registry (as `npm start` runs them) watch it twice.
      metrics.countQueriesOf(db);
      metrics.countQueriesOf(db);
      await db.raw('select 1');
      await db.transaction(async (trx) => {
        await trx.raw('select 2');
      });
      await db.raw('with one as (select 1 as n) select n from one');
      await db.raw('show server_version');
      const text = (await metrics.scrape()).body;
      const count = (kind: string) => sample(text, 'webhooks_db_queries_total', { kind });
      expect([count('select'), count('begin'), count('commit'), count('with'), count('other')]).toEqual([2, 1, 1, 1, 1]);
    } finally {
      await db.destroy();
    }
  });
});

describe("when the worker's listener is asked for anything but GET /metrics", () => {
  it('then it answers 404', async () => {
    expect((await fetch(`${workerMetricsUrl}/healthz`)).status).toBe(404);
    expect((await fetch(`${workerMetricsUrl}/metrics`, { method: 'POST' })).status).toBe(404);
  });
});

describe('when METRICS_TOKEN is set', () => {
  it('then /metrics of the API and of the worker listener need it as a bearer token', async () => {
    const token = 'scrape-7f3a9c1e5b2d8046af13ce97b5d20e8c';
    const config = testConfig({ METRICS_TOKEN: token });
    const log = createLogger('silent', 'test');
    const api = await startApi({ config, db: stack.db, box: new SecretBox(Buffer.from(TEST_MASTER_KEY, 'hex')), temporal: stack.temporal, log });
    const listener = await startMetricsServer(createMetrics(), '127.0.0.1', 0, token);
    try {
      for (const url of [api.url, listener.url]) {
        expect((await fetch(`${url}/metrics`)).status).toBe(401);
        expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
        const ok = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
        expect(ok.status).toBe(200);
        expect(await ok.text()).toContain('process_cpu');
      }
      const refused = await fetch(`${api.url}/metrics`);
      expect(await refused.json()).toMatchObject({ ok: false, err: 'unauthorized' });
    } finally {
      await closeServer(api.server);
      await closeServer(listener.server);
    }
  });
});
