import { createHmac } from 'node:crypto';
import { heldHandoffs, holdHandoff } from '../../activities/handed-attempts';
import { insertEventWithDeliveries } from '../../src/db/events-repo';
import { loadIngestContext } from '../../src/db/ingest-context-repo';
import { newId } from '../../src/ids';
import { newDeliveries } from '../../src/services/ingest';
import { deliveryInput, INLINE_FAN_OUT_MAX } from '../../src/temporal/delivery-workflows';
import type { DeliveryOut } from '../../workflows/definitions';
import type { Receiver } from '../helpers/receiver';
import { eventually, startDeliveryLate, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

/**
 * Ingest hands what a delivery's first attempt needs (the endpoint as it read it, sealed, and the
 * event's body) to the worker that starts the delivery eagerly, through the start relay here; the
 * first attempt then sends without reading its endpoint again. A step that may have run before
 * (its workflow's first task is not fresh) reads the database instead.
 */
const RETRIES = { schedule: [100, 100], jitter: 0, timeout_ms: 2000 };
const TENANT = 'handoff_tests';

let stack: Stack;
let receiver: Receiver;
/** The text of each statement the stack's database ran, in order. */
const statements: string[] = [];

beforeAll(async () => {
  ({ stack, receiver } = await startStackWithReceiver({ relay: true, env: { DEFAULT_TENANT_ID: TENANT } }));
  stack.db.on('query', (q: { sql: string }) => statements.push(q.sql));
});
afterAll(() => stopAll(stack, receiver));

const typeFor = (path: string) => `handoff${path.replace(/\//g, '.')}`;
/** The first attempt's own read of its endpoint (ingest's statement reads the endpoint too, but never the stored attempt). */
const isAttemptRead = (sql: string) => sql.includes('as recorded');
const requestsTo = (path: string) => receiver.requests.filter((r) => r.path === path);

async function createEndpoint(path: string): Promise<{ id: string; secret: string; key_id: string }> {
  const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: [typeFor(path)], retry_config: RETRIES });
  expect(created.status).toBe(201);
  return created.body.data as { id: string; secret: string; key_id: string };
}

describe('when the API hands a delivery start to a worker', () => {
  it('then the first attempt is sent, signed, without reading its endpoint or the body again', async () => {
    const endpoint = await createEndpoint('/handed-relay');
    const from = statements.length;
    const res = await stack.call('POST', '/api/v1/events', { type: typeFor('/handed-relay'), payload: { n: 1 } });
    expect(res.status).toBe(202);
    const deliveryId = res.body.data.deliveries[0].id as string;
    await eventually(async () => ((await stack.call('GET', `/api/v1/deliveries/${deliveryId}`)).body.data?.status === 'succeeded' ? true : undefined), 30_000, 'the delivery');
    const [request] = requestsTo('/handed-relay');
    expect(request).toBeDefined();
    expect(JSON.parse(request!.body).data).toEqual({ n: 1 });
    // Signed with the key ingest handed over, still sealed, and opened by the worker.
    const h = request!.headers;
    const key = Buffer.from(endpoint.secret.slice('whsec_'.length), 'base64');
    expect(h['x-signature']).toBe(createHmac('sha512', key).update(`${h['x-ts']}.${h['x-nonce']}.${request!.body}`).digest('hex'));
    expect(h['x-key-id']).toBe(endpoint.key_id);
    expect(statements.slice(from).filter(isAttemptRead)).toEqual([]);
    expect(heldHandoffs()).toBe(0);
  });

  it('then beside a FIFO endpoint (its delivery started later, by its sequencer) the other endpoint still gets the body and skips the read', async () => {
    const type = typeFor('/handed-fifo');
    // Created first, so its delivery comes first (ids sort by time), where the body was handed before.
    const fifo = await stack.call('POST', '/api/v1/endpoints', { url: `${receiver.url}/handed-fifo/line`, events: [type], retry_config: RETRIES, ordering: 'fifo' });
    expect(fifo.status).toBe(201);
    const plain = await stack.call('POST', '/api/v1/endpoints', { url: `${receiver.url}/handed-fifo/plain`, events: [type], retry_config: RETRIES });
    expect(plain.status).toBe(201);
    const from = statements.length;
    const res = await stack.call('POST', '/api/v1/events', { type, payload: { n: 2 } });
    expect(res.status).toBe(202);
    await receiver.waitForRequests(1, 30_000, '/handed-fifo/plain');
    await receiver.waitForRequests(1, 30_000, '/handed-fifo/line');
    // The FIFO delivery's first attempt reads its endpoint; the other's does not.
    await eventually(async () => (statements.slice(from).filter(isAttemptRead).length >= 1 ? true : undefined), 10_000, 'the FIFO attempt');
    expect(statements.slice(from).filter(isAttemptRead)).toHaveLength(1);
  });

  it('then an event for more endpoints than are started directly hands nothing over, and each attempt reads its endpoint', async () => {
    const type = typeFor('/handed-many');
    for (let i = 0; i <= INLINE_FAN_OUT_MAX; i++) {
      const created = await stack.call('POST', '/api/v1/endpoints', { url: `${receiver.url}/handed-many/${i}`, events: [type], retry_config: RETRIES });
      expect(created.status).toBe(201);
    }
    const context = await loadIngestContext(stack.db, TENANT, type, { endpoints: true, handOffMax: INLINE_FAN_OUT_MAX });
    expect(context.endpoints).toHaveLength(INLINE_FAN_OUT_MAX + 1);
    expect(context.endpoints.every((e) => e.attempt === null)).toBe(true);
    const fewer = await loadIngestContext(stack.db, TENANT, type, { endpoints: true, handOffMax: INLINE_FAN_OUT_MAX + 1 });
    expect(fewer.endpoints.every((e) => e.attempt !== null && typeof e.attempt === 'object')).toBe(true);
  });
});

describe('when a delivery was handed an endpoint that differs from the stored one', () => {
  /**
   * A stored delivery to `/stored`, its handoff saying `/handed` (as if the endpoint's URL had
   * changed after ingest read it), started 1 s late; with `signal`, a signal comes during that
   * second, so the first task's history holds more than the start: not a fresh first task.
   */
  async function deliver(label: string, signal: boolean): Promise<DeliveryOut> {
    const stored = `/${label}-stored`;
    const endpointId = (await createEndpoint(stored)).id;
    const context = await loadIngestContext(stack.db, TENANT, typeFor(stored), { endpoints: true, handOffMax: INLINE_FAN_OUT_MAX });
    const attempt = context.endpoints.find((e) => e.id === endpointId)?.attempt;
    expect(attempt).toBeTruthy();
    const eventId = newId('evt');
    const body = JSON.stringify({ id: eventId, type: typeFor(stored), data: { label } });
    const { deliveries } = await insertEventWithDeliveries(stack.db, TENANT, { id: eventId, type: typeFor(stored), body, idempotencyKey: null }, newDeliveries(eventId, [endpointId]));
    const delivery = deliveries[0]!;
    const input = deliveryInput({ tenantId: TENANT, eventId, eventType: typeFor(stored) }, { deliveryId: delivery.id, endpointId });
    holdHandoff(input, { attempt: { ...attempt!, url: `${receiver.url}/${label}-handed` }, body });
    const handle = await startDeliveryLate(stack, delivery.workflow_id, input);
    if (signal) await handle.signal('nothingListens');
    return (await handle.result()) as DeliveryOut;
  }

  it('then a fresh first task sends with what was handed', async () => {
    expect(await deliver('fresh', false)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(requestsTo('/fresh-handed')).toHaveLength(1);
    expect(requestsTo('/fresh-stored')).toHaveLength(0);
  });

  it('then a first task that is not fresh reads the endpoint, and drops what was handed', async () => {
    expect(await deliver('later', true)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(requestsTo('/later-stored')).toHaveLength(1);
    expect(requestsTo('/later-handed')).toHaveLength(0);
    expect(heldHandoffs()).toBe(0);
  });
});
