import { createServer, type Server } from 'node:http';
import { request } from 'undici';
import { closeServer, listen } from '../../src/bootstrap';
import { findFreePort } from '../../src/dev/ports';
import { createLogger } from '../../src/logger';
import { deliveryInput, deliveryWorkflowId, directStarts } from '../../src/temporal/delivery-workflows';
import { RELAY_PATH, relayedStarts, startRelayServer } from '../../src/temporal/start-relay';
import { startApi } from '../../src/api/start-api';
import { apiGrpcInterceptors } from '../../src/temporal/client';
import { SecretBox } from '../../src/security/secret-box';
import { Client, Connection } from '@temporalio/client';
import type { Receiver } from '../helpers/receiver';
import { eventually, startStack, startStackWithReceiver, stopAll, TEST_MASTER_KEY, TEST_RELAY_TOKEN, TEST_TOKEN, type Stack } from '../helpers/stack';

/**
 * The start relay: the API process hands ingest's delivery starts to a worker, which starts them
 * eagerly on itself (WORKER_START_URLS / WORKER_START_PORT). A 202 still means started; when no
 * worker answers, the API starts the deliveries itself.
 */
const RETRIES = { schedule: [100, 100], jitter: 0, timeout_ms: 2000 };

let stack: Stack;
let receiver: Receiver;
let lonely: Stack;
const lonelyLog: string[] = [];

beforeAll(async () => {
  ({ stack, receiver } = await startStackWithReceiver({ relay: true, env: { DEFAULT_TENANT_ID: 'relay_tests' } }));
  // A relay address nothing listens on: every start falls back to the API's own client.
  lonely = await startStack({ relay: [`http://127.0.0.1:${await findFreePort()}`], env: { DEFAULT_TENANT_ID: 'relay_fallback_tests', LOG_LEVEL: 'warn' }, logLines: lonelyLog });
});
afterAll(async () => {
  await stopAll(stack, receiver);
  await lonely?.stop();
});

const metric = async (on: Stack, line: string) => {
  const text = (await on.call('GET', '/metrics')).body as string;
  return Number(text.split('\n').find((l) => l.startsWith(line))?.split(' ')[1] ?? 0);
};

async function sendOne(on: Stack, path: string): Promise<{ eventId: string; endpointId: string; deliveryId: string }> {
  const type = `relay.${path.slice(1)}`;
  const created = await on.call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: [type], retry_config: RETRIES });
  expect(created.status).toBe(201);
  const res = await on.call('POST', '/api/v1/events', { type, payload: { path } });
  expect(res.status).toBe(202);
  return { eventId: res.body.data.event_id, endpointId: created.body.data.id, deliveryId: res.body.data.deliveries[0].id };
}

async function delivered(on: Stack, deliveryId: string, label: string): Promise<void> {
  await eventually(async () => ((await on.call('GET', `/api/v1/deliveries/${deliveryId}`)).body.data?.status === 'succeeded' ? true : undefined), 30_000, label);
}

describe('when the API hands its delivery starts to a worker', () => {
  it('then the worker starts the delivery eagerly, and the workflow exists when the 202 comes', async () => {
    const eagerBefore = await metric(stack, 'webhooks_delivery_starts_total{first_task="eager"}');
    const answeredBefore = await metric(stack, 'webhooks_start_relay_requests_total{result="answered"}');
    const relayedBefore = await metric(stack, 'webhooks_ingest_part_duration_seconds_count{part="relayed"}');
    const { eventId, endpointId, deliveryId } = await sendOne(stack, '/eager');
    // Described right after the 202: the start was made before the answer, as without the relay.
    const described = await stack.temporal.workflow.getHandle(deliveryWorkflowId(eventId, endpointId)).describe();
    expect(described.type).toBe('deliveryWorkflow');
    await delivered(stack, deliveryId, 'the relayed delivery');
    expect(await metric(stack, 'webhooks_delivery_starts_total{first_task="eager"}')).toBe(eagerBefore + 1);
    expect(await metric(stack, 'webhooks_start_relay_requests_total{result="answered"}')).toBe(answeredBefore + 1);
    // The relay's own share of the API's starts is timed on the worker's side (the same registry here).
    expect(await metric(stack, 'webhooks_ingest_part_duration_seconds_count{part="relayed"}')).toBe(relayedBefore + 1);
    expect(receiver.requests.filter((r) => r.path === '/eager')).toHaveLength(1);
  });
});

describe('when no worker answers', () => {
  it('then the API starts the delivery itself and says so in its log', async () => {
    const queuedBefore = await metric(lonely, 'webhooks_delivery_starts_total{first_task="queued"}');
    const fallbackBefore = await metric(lonely, 'webhooks_start_relay_requests_total{result="fallback"}');
    const { deliveryId } = await sendOne(lonely, '/fallback');
    await delivered(lonely, deliveryId, 'the delivery started by the API');
    expect(await metric(lonely, 'webhooks_delivery_starts_total{first_task="queued"}')).toBe(queuedBefore + 1);
    expect(await metric(lonely, 'webhooks_start_relay_requests_total{result="fallback"}')).toBe(fallbackBefore + 1);
    expect(lonelyLog.some((l) => l.includes('worker unreachable for delivery starts'))).toBe(true);
  });
});

describe("a start relay's contract", () => {
  let relay: { server: Server; url: string };
  beforeAll(async () => {
    relay = await startRelayServer({
      start: directStarts(stack.temporal, stack.config.TEMPORAL_TASK_QUEUE),
      host: '127.0.0.1',
      port: 0,
      token: TEST_RELAY_TOKEN,
      log: createLogger('silent', 'test'),
    });
  });
  afterAll(() => closeServer(relay.server));

  const post = async (body: string, token: string | null = TEST_RELAY_TOKEN, path = RELAY_PATH) => {
    const res = await request(`${relay.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body,
    });
    return { status: res.statusCode, body: (await res.body.json()) as { ok: boolean; err?: string; started?: number; eager?: number } };
  };

  it('then it refuses a caller without the token, another path, and bad bodies, each with its code', async () => {
    const one = JSON.stringify({ starts: [{ input: deliveryInput({ tenantId: 'relay_tests', eventId: 'evt_x', eventType: 'relay.x' }, { deliveryId: 'dlv_x', endpointId: 'ep_x' }) }] });
    expect(await post(one, null)).toMatchObject({ status: 401, body: { ok: false, err: 'unauthorized' } });
    expect(await post(one, `${TEST_RELAY_TOKEN}-not`)).toMatchObject({ status: 401, body: { ok: false, err: 'unauthorized' } });
    expect(await post(one, TEST_RELAY_TOKEN, '/v1/other')).toMatchObject({ status: 404, body: { ok: false, err: 'not_found' } });
    expect(await post('{not json')).toMatchObject({ status: 400, body: { ok: false, err: 'invalid_json' } });
    // The scheme in any case, as the API and the metrics listener take it: past the token check to the body's.
    const lower = await request(`${relay.url}${RELAY_PATH}`, { method: 'POST', headers: { authorization: `bearer  ${TEST_RELAY_TOKEN}` }, body: '{not json' });
    expect({ status: lower.statusCode, body: await lower.body.json() }).toMatchObject({ status: 400, body: { ok: false, err: 'invalid_json' } });
    for (const body of ['null', '[]', '{"starts":[]}', '{"starts":[null]}', '{"starts":[{"input":null}]}']) {
      expect(await post(body)).toMatchObject({ status: 400, body: { ok: false, err: 'invalid_starts' } });
    }
    expect(await post(JSON.stringify({ starts: [{ input: { deliveryId: 'dlv_x' } }] }))).toMatchObject({ status: 400, body: { ok: false, err: 'invalid_starts' } });
    const input = JSON.parse(one).starts[0].input;
    for (const trace of [null, 'traceparent', ['x'], { traceparent: 1 }]) {
      expect(await post(JSON.stringify({ starts: [{ input, trace }] }))).toMatchObject({ status: 400, body: { ok: false, err: 'invalid_starts' } });
    }
    for (const handoff of [null, 'attempt', {}, { attempt: null }, { attempt: [] }, { attempt: {}, body: 1 }]) {
      expect(await post(JSON.stringify({ starts: [{ input, handoff }] }))).toMatchObject({ status: 400, body: { ok: false, err: 'invalid_starts' } });
    }
    expect(await post(JSON.stringify({ starts: [{ input: {} }], pad: 'x'.repeat(5 * 1024 * 1024) }))).toMatchObject({ status: 413, body: { ok: false, err: 'body_too_large' } });
  });

  it('then, when Temporal cannot be reached, it answers 503 and so does the API, within seconds, the event kept for the outbox', async () => {
    const nowhere = Connection.lazy({ address: '127.0.0.1:1', connectTimeout: '1s', interceptors: apiGrpcInterceptors() });
    const unreachable = new Client({ connection: nowhere, namespace: stack.config.TEMPORAL_NAMESPACE });
    const log = createLogger('silent', 'test');
    const queue = stack.config.TEMPORAL_TASK_QUEUE;
    const downRelay = await startRelayServer({ start: directStarts(unreachable, queue), host: '127.0.0.1', port: 0, token: TEST_RELAY_TOKEN, log });
    const relayed = relayedStarts({ urls: [downRelay.url], token: TEST_RELAY_TOKEN, timeoutMs: 5_000, fallback: directStarts(unreachable, queue), log });
    const api = await startApi({ config: stack.config, db: stack.db, box: new SecretBox(Buffer.from(TEST_MASTER_KEY, 'hex')), temporal: unreachable, startDeliveries: relayed.start, log });
    try {
      const input = deliveryInput({ tenantId: 'relay_tests', eventId: 'evt_down', eventType: 'relay.down' }, { deliveryId: 'dlv_down', endpointId: 'ep_down' });
      const direct = await request(`${downRelay.url}${RELAY_PATH}`, { method: 'POST', headers: { authorization: `Bearer ${TEST_RELAY_TOKEN}` }, body: JSON.stringify({ starts: [{ input }] }) });
      expect([direct.statusCode, await direct.body.json()]).toEqual([503, { ok: false, err: 'temporal_unavailable', msg: 'Temporal is unavailable' }]);

      expect((await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/down', events: ['relay.down'] })).status).toBe(201);
      const started = Date.now();
      const res = await fetch(`${api.url}/api/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', 'idempotency-key': 'relay-down-1' },
        body: JSON.stringify({ type: 'relay.down', payload: {} }),
      });
      expect([res.status, ((await res.json()) as { err: string }).err]).toEqual([503, 'unavailable']);
      expect(Date.now() - started).toBeLessThan(10_000);
      const stored = await stack.db('events').where({ idempotency_key: 'relay-down-1' }).first();
      expect(stored.dispatched_at).toBeNull();
    } finally {
      await closeServer(api.server);
      await relayed.close();
      await closeServer(downRelay.server);
      await new Promise((r) => setTimeout(r, 2500));
      await nowhere.close().catch(() => undefined);
    }
  }, 30_000);

  it('then a start it is asked for twice (the API retried after a lost answer) is made once', async () => {
    const { eventId, endpointId, deliveryId } = await sendOne(stack, '/twice');
    await delivered(stack, deliveryId, 'the first delivery');
    const input = deliveryInput({ tenantId: 'relay_tests', eventId, eventType: 'relay.twice' }, { deliveryId, endpointId });
    expect(await post(JSON.stringify({ starts: [{ input }] }))).toEqual({ status: 200, body: { ok: true, started: 0, eager: 0, results: ['existing'] } });
    expect(receiver.requests.filter((r) => r.path === '/twice')).toHaveLength(1);
  });
});

describe("the API's side, when starts come faster than a worker answers", () => {
  /** A worker's relay on loopback that holds each request until told, and answers as `answer` says. */
  async function heldRelay(answer: (starts: Array<{ input: { deliveryId: string }; trace?: unknown }>) => { status: number; body: unknown }) {
    const requests: Array<{ ids: string[]; traced: boolean }> = [];
    const held: Array<() => void> = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const { starts } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { starts: Array<{ input: { deliveryId: string }; trace?: unknown }> };
        requests.push({ ids: starts.map((s) => s.input.deliveryId), traced: starts.some((s) => s.trace !== undefined) });
        held.push(() => {
          const { status, body } = answer(starts);
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        });
      });
    });
    const listening = await listen(server, '127.0.0.1', 0);
    const release = async (count: number) => {
      await eventually(async () => (held.length >= count ? true : undefined), 5_000, `${count} relay request(s)`);
      held.splice(0, count).forEach((send) => send());
    };
    return { url: listening.url, server, requests, release };
  }
  const starts = (...ids: string[]) => ids.map((id) => ({ input: deliveryInput({ tenantId: 'relay_tests', eventId: `evt_${id}`, eventType: 'relay.batch' }, { deliveryId: id, endpointId: 'ep_batch' }) }));
  const log = createLogger('silent', 'test');
  const fellBack: string[][] = [];
  const fallback = async (s: ReadonlyArray<{ input: { deliveryId: string } }>) => {
    fellBack.push(s.map((one) => one.input.deliveryId));
    return { started: s.length, eager: 0 };
  };

  it('then the starts that waited go to the worker together, and each call learns what became of its own', async () => {
    // The worker says of each start: eager for dlv_e*, started for dlv_s*, existing (started before) for the rest.
    const relay = await heldRelay((s) => ({ status: 200, body: { ok: true, results: s.map(({ input: { deliveryId: id } }) => (id.startsWith('dlv_e') ? 'eager' : id.startsWith('dlv_s') ? 'started' : 'existing')) } }));
    const told: Array<[number, boolean]> = [];
    const relayed = relayedStarts({ urls: [relay.url], token: TEST_RELAY_TOKEN, timeoutMs: 5_000, inFlight: 1, fallback, log, onRequest: (n, answered) => told.push([n, answered]) });
    try {
      const first = relayed.start(starts('dlv_e1'));
      await eventually(async () => (relay.requests.length === 1 ? true : undefined), 5_000, 'the first request');
      // While the first request is out, three calls come: they wait, and go in one request.
      const rest = [relayed.start(starts('dlv_e2', 'dlv_s2')), relayed.start(starts('dlv_x3')), relayed.start(starts('dlv_s4', 'dlv_x4', 'dlv_e4'))];
      await relay.release(1);
      await relay.release(1);
      expect(await first).toEqual({ started: 1, eager: 1 });
      expect(await Promise.all(rest)).toEqual([
        { started: 2, eager: 1 },
        { started: 0, eager: 0 },
        { started: 2, eager: 1 },
      ]);
      expect(relay.requests.map((r) => r.ids)).toEqual([['dlv_e1'], ['dlv_e2', 'dlv_s2', 'dlv_x3', 'dlv_s4', 'dlv_x4', 'dlv_e4']]);
      // A light load never waits: with the worker idle, a call goes at once, alone.
      const alone = relayed.start(starts('dlv_e5'));
      await relay.release(1);
      expect(await alone).toEqual({ started: 1, eager: 1 });
      expect(relay.requests).toHaveLength(3);
      expect(fellBack).toEqual([]);
      expect(told).toEqual([
        [1, true],
        [6, true],
        [1, true],
      ]);
    } finally {
      await relayed.close();
      await closeServer(relay.server);
    }
  });

  it('then a worker from before (totals only) gets each call alone, and a refusal sends each call to the fallback with its own starts', async () => {
    let mode: 'totals' | 'each' | 'refuse' = 'totals';
    const relay = await heldRelay((s) =>
      mode === 'refuse'
        ? { status: 500, body: { ok: false, err: 'internal' } }
        : mode === 'each'
          ? { status: 200, body: { ok: true, results: s.map(() => 'eager') } }
          : { status: 200, body: { ok: true, started: s.length, eager: 1 } },
    );
    const told: Array<[number, boolean]> = [];
    const relayed = relayedStarts({ urls: [relay.url], token: TEST_RELAY_TOKEN, timeoutMs: 5_000, inFlight: 1, fallback, log, onRequest: (n, answered) => told.push([n, answered]) });
    try {
      const calls = [relayed.start(starts('dlv_a1')), relayed.start(starts('dlv_a2', 'dlv_a3')), relayed.start(starts('dlv_a4'))];
      for (let i = 0; i < 3; i++) await relay.release(1);
      expect(await Promise.all(calls)).toEqual([
        { started: 1, eager: 1 },
        { started: 2, eager: 1 },
        { started: 1, eager: 1 },
      ]);
      expect(relay.requests.map((r) => r.ids)).toEqual([['dlv_a1'], ['dlv_a2', 'dlv_a3'], ['dlv_a4']]);

      // Put back to an older version while a batch was formed for it: the totals go to the batch's
      // first call, so the counts still add up, and calls go alone again after.
      mode = 'each';
      const learn = relayed.start(starts('dlv_b1'));
      const batched = [relayed.start(starts('dlv_b2', 'dlv_b3')), relayed.start(starts('dlv_b4'))];
      await relay.release(1);
      expect(await learn).toEqual({ started: 1, eager: 1 });
      mode = 'totals';
      await relay.release(1);
      expect(await Promise.all(batched)).toEqual([
        { started: 3, eager: 1 },
        { started: 0, eager: 0 },
      ]);
      const after = [relayed.start(starts('dlv_c1')), relayed.start(starts('dlv_c2'))];
      await relay.release(1);
      await relay.release(1);
      await Promise.all(after);
      expect(relay.requests.slice(3).map((r) => r.ids)).toEqual([['dlv_b1'], ['dlv_b2', 'dlv_b3', 'dlv_b4'], ['dlv_c1'], ['dlv_c2']]);

      mode = 'refuse';
      const refused = [relayed.start(starts('dlv_r1')), relayed.start(starts('dlv_r2', 'dlv_r3'))];
      await relay.release(1);
      await relay.release(1);
      expect(await Promise.all(refused)).toEqual([
        { started: 1, eager: 0 },
        { started: 2, eager: 0 },
      ]);
      expect(fellBack).toEqual([['dlv_r1'], ['dlv_r2', 'dlv_r3']]);
      expect(told.map(([, answered]) => answered)).toEqual([true, true, true, true, true, true, true, false, false]);
    } finally {
      await relayed.close();
      await closeServer(relay.server);
    }
  });
});
