import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { AttemptPrefetch, PREFETCH_MAX_AGE_MS, type PrefetchOutcome } from '../../activities/attempt-prefetch';
import { cachedEventBody } from '../../activities/event-bodies';
import type { DeliverAttemptIn } from '../../activities/types';
import { openDatabase } from '../../src/db/knex';
import { OutboundDispatchers } from '../../src/http/dispatchers';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import { egressPolicy } from '../../src/security/egress';
import { parseMasterKey, SecretBox } from '../../src/security/secret-box';
import { deliveryInput } from '../../src/temporal/delivery-workflows';
import type { Receiver } from '../helpers/receiver';
import { seedDeliveries } from '../helpers/seed-deliveries';
import { eventually, startStackWithReceiver, stopAll, TEST_MASTER_KEY, type Stack } from '../helpers/stack';

/**
 * A delivery started eagerly on a worker has its first attempt's context (the endpoint, its
 * sealed keys, the body) read while it starts, so the attempt that follows on that worker does
 * not wait for that read. Each context is taken once, fresh, and only when it is still safe to use.
 */
const TENANT = 'prefetch_tests';
let stack: Stack;
let receiver: Receiver;

beforeAll(async () => ({ stack, receiver } = await startStackWithReceiver({ eager: true, env: { DEFAULT_TENANT_ID: TENANT } })));
afterAll(() => stopAll(stack, receiver));

const metric = async (outcome: PrefetchOutcome) => {
  const text = (await stack.call('GET', '/metrics')).body as string;
  return Number(text.split('\n').find((l) => l.startsWith(`webhooks_attempt_prefetch_total{outcome="${outcome}"}`))?.split(' ')[1] ?? 0);
};

async function endpoint(path: string): Promise<string> {
  const created = await stack.call('POST', '/api/v1/endpoints', { url: `${receiver.url}${path}`, events: ['prefetch.test'] });
  expect(created.status).toBe(201);
  return created.body.data.id as string;
}

/** A stored delivery of `endpointId` that no workflow runs yet, as ingest leaves one. */
async function storedDelivery(endpointId: string) {
  const [seeded] = await seedDeliveries(stack.db, { tenantId: TENANT, endpointId, count: 1, ending: 'none', createdAt: new Date(), type: 'prefetch.test' });
  const { deliveryId, eventId } = seeded!;
  return { tenantId: TENANT, eventId, endpointId, deliveryId };
}

/** A clock the test moves by hand. */
function manualClock() {
  let now = 1_000;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('when ingest starts a delivery eagerly on the worker', () => {
  it('then its first attempt uses the context read during the start, and the receiver gets it signed', async () => {
    const id = await endpoint('/eager');
    const [usedBefore, staleBefore] = [await metric('used'), await metric('stale')];
    const ingested = await stack.call('POST', '/api/v1/events', { type: 'prefetch.test', payload: { n: 1 } });
    expect(ingested.status).toBe(202);
    const deliveryId = ingested.body.data.deliveries[0].id as string;
    await eventually(async () => ((await stack.call('GET', `/api/v1/deliveries/${deliveryId}`)).body.data?.status === 'succeeded' ? true : undefined), 20_000, 'delivered');
    const got = receiver.requests.filter((r) => r.path === '/eager');
    expect(got).toHaveLength(1);
    expect(got[0]!.headers['x-signature']).toMatch(/^[0-9a-f]{128}$/);
    expect(JSON.parse(got[0]!.body).data).toEqual({ n: 1 });
    expect(await metric('used')).toBe(usedBefore + 1);
    expect(await metric('stale')).toBe(staleBefore);
    expect(id).toMatch(/^ep_/);
  });
});

describe('when a prefetched context is taken', () => {
  it('then it holds the endpoint, its sealed keys and the body, is taken once, and leaves the body in the worker\'s cache', async () => {
    const delivery = await storedDelivery(await endpoint('/once'));
    const outcomes: PrefetchOutcome[] = [];
    const prefetch = new AttemptPrefetch(stack.db, (o) => outcomes.push(o));
    prefetch.prefetch(delivery);
    prefetch.prefetch(delivery); // a second start of the same delivery reads nothing more
    expect(prefetch.size).toBe(1);
    const taken = await prefetch.take(delivery.deliveryId, 1);
    expect(taken?.context?.endpoint.url).toBe(`${receiver.url}/once`);
    expect(taken?.context?.sealedKeys).toHaveLength(1);
    expect(taken?.context?.recorded).toBeNull();
    expect(JSON.parse(taken!.body!).id).toBe(delivery.eventId);
    expect(cachedEventBody(TENANT, delivery.eventId)).toBe(taken!.body);
    expect(await prefetch.take(delivery.deliveryId, 1)).toBeUndefined();
    expect(outcomes).toEqual(['used']);
  });

  it('then one older than PREFETCH_MAX_AGE_MS, or of another attempt, is not used, and one never taken is let go', async () => {
    const [a, b] = [await storedDelivery(await endpoint('/old-a')), await storedDelivery(await endpoint('/old-b'))];
    const outcomes: PrefetchOutcome[] = [];
    const clock = manualClock();
    const prefetch = new AttemptPrefetch(stack.db, (o) => outcomes.push(o), clock.now);
    prefetch.prefetch(a);
    expect(await prefetch.take(a.deliveryId, 2)).toBeUndefined();
    clock.advance(PREFETCH_MAX_AGE_MS + 1);
    expect(await prefetch.take(a.deliveryId, 1)).toBeUndefined();
    expect(outcomes).toEqual(['stale']);
    // b is never taken: the next prefetch after its age has passed lets it go.
    prefetch.prefetch(b);
    clock.advance(PREFETCH_MAX_AGE_MS + 1);
    prefetch.prefetch(a);
    expect(prefetch.size).toBe(1);
    expect(outcomes).toEqual(['stale', 'unused']);
  });

  it('then one whose endpoint\'s circuit was not closed is not used (its wait counts from the read)', async () => {
    const id = await endpoint('/open-circuit');
    const delivery = await storedDelivery(id);
    await stack.db('endpoints').where({ id }).update({ circuit_state: 'open', circuit_next_probe_at: new Date(Date.now() + 60_000) });
    const outcomes: PrefetchOutcome[] = [];
    const prefetch = new AttemptPrefetch(stack.db, (o) => outcomes.push(o));
    prefetch.prefetch(delivery);
    expect(await prefetch.take(delivery.deliveryId, 1)).toBeUndefined();
    expect(outcomes).toEqual(['stale']);
  });

  it('then one whose read failed is not used, and nothing is thrown', async () => {
    const delivery = await storedDelivery(await endpoint('/failed-read'));
    const closed = openDatabase(stack.config, createLogger('silent'));
    await closed.destroy();
    const outcomes: PrefetchOutcome[] = [];
    const prefetch = new AttemptPrefetch(closed, (o) => outcomes.push(o));
    prefetch.prefetch(delivery);
    expect(await prefetch.take(delivery.deliveryId, 1)).toBeUndefined();
    expect(outcomes).toEqual(['failed']);
  });
});

describe('when an attempt step that used a prefetched context runs again', () => {
  it('then the second run reads afresh, finds the attempt stored, and sends nothing more', async () => {
    const delivery = await storedDelivery(await endpoint('/again'));
    const egress = egressPolicy(stack.config);
    const outbound = new OutboundDispatchers({ egress, connectTimeoutMs: 1000 });
    const outcomes: PrefetchOutcome[] = [];
    const prefetched = new AttemptPrefetch(stack.db, (o) => outcomes.push(o));
    const deps = { db: stack.db, box: new SecretBox(parseMasterKey(TEST_MASTER_KEY)), log: createLogger('silent'), metrics: createMetrics(), outbound, egress, config: stack.config, prefetched };
    const input: DeliverAttemptIn = { ...deliveryInput({ tenantId: TENANT, eventId: delivery.eventId, eventType: 'prefetch.test' }, delivery), attempt: 1, slotReserved: false };
    try {
      const { deliverAttempt } = createActivities(deps);
      prefetched.prefetch(delivery);
      const env = () => new MockActivityEnvironment({ taskQueue: stack.config.TEMPORAL_TASK_QUEUE }, { client: stack.temporal });
      const first = await env().run(deliverAttempt, input);
      const second = await env().run(deliverAttempt, input);
      expect(first).toMatchObject({ kind: 'attempted', recorded: true, result: { outcome: 'succeeded' } });
      expect(second).toMatchObject({ kind: 'attempted', recorded: true, result: { outcome: 'succeeded', responseStatus: 200 } });
      expect(outcomes).toEqual(['used']);
      expect(receiver.requests.filter((r) => r.path === '/again')).toHaveLength(1);
    } finally {
      await outbound.close();
    }
  });
});
