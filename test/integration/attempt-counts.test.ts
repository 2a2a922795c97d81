import { storeAttempt, type AttemptRow } from '../../src/db/attempts-repo';
import { insertEventWithDeliveries } from '../../src/db/events-repo';
import { listKeys } from '../../src/db/signing-keys-repo';
import { newId } from '../../src/ids';
import { newDeliveries } from '../../src/services/ingest';
import { startStack, type Stack } from '../helpers/stack';

/**
 * An endpoint's running counts and its keys' usage are added to shard rows (migration 022), so
 * the attempts of one endpoint never queue on its row or its key's row: the endpoint's row is
 * written only when its health changes.
 */
const TENANT = 'attempt_counts_tests';
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: false, env: { DEFAULT_TENANT_ID: TENANT } });
});
afterAll(() => stack?.stop());

async function endpointWithKey(): Promise<{ endpointId: string; keyId: string }> {
  const created = await stack.call('POST', '/api/v1/endpoints', { url: 'https://receiver.example.com/hooks', events: ['counts.test'] });
  expect(created.status).toBe(201);
  const endpointId = created.body.data.id as string;
  const keys = await listKeys(stack.db, TENANT, { scope: { type: 'endpoint', id: endpointId }, limit: 10, offset: 0 });
  return { endpointId, keyId: keys.items[0]!.id };
}

/** A stored delivery to the endpoint, and its attempt as the worker records it. */
async function attemptOf(endpointId: string, outcome: 'succeeded' | 'failed', attempt = 1, deliveryId?: string): Promise<AttemptRow> {
  let delivery = deliveryId;
  let eventId: string;
  if (!delivery) {
    eventId = newId('evt');
    const { deliveries } = await insertEventWithDeliveries(stack.db, TENANT, { id: eventId, type: 'counts.test', body: '{}', idempotencyKey: null }, newDeliveries(eventId, [endpointId]));
    delivery = deliveries[0]!.id;
  } else {
    eventId = (await stack.db('deliveries').where({ id: delivery }).first()).event_id;
  }
  return {
    tenant_id: TENANT,
    delivery_id: delivery,
    endpoint_id: endpointId,
    event_id: eventId,
    attempt,
    outcome,
    started_at: new Date(),
    duration_ms: 40,
    response_status: outcome === 'succeeded' ? 200 : 503,
    error_class: outcome === 'succeeded' ? null : 'http_5xx',
    error_message: null,
    response_excerpt: null,
    delivery_status: outcome === 'succeeded' ? 'succeeded' : 'retrying',
  };
}

const within = <T>(ms: number, work: Promise<T>) =>
  Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms))]);

describe("when another transaction holds a healthy endpoint's row and its key's row", () => {
  it('then a successful attempt is still recorded at once, counted, and its key used', async () => {
    const { endpointId, keyId } = await endpointWithKey();
    const row = await attemptOf(endpointId, 'succeeded');
    const holder = await stack.db.transaction();
    try {
      await holder('endpoints').where({ id: endpointId }).forUpdate().first();
      await holder('signing_keys').where({ id: keyId }).forUpdate().first();
      const stored = await within(3_000, storeAttempt(stack.db, row, { reachedReceiver: true, keyIds: [keyId], readActiveUsage: true }));
      expect(stored).toMatchObject({ inserted: true, activeKeyUsage: 1, health: { failingSince: null, isActive: true } });
      expect(stored.endpoint).toMatchObject({ consecutiveFailures: 0, circuitState: 'closed' });
    } finally {
      await holder.rollback();
    }
    const stats = (await stack.call('GET', `/api/v1/endpoints/${endpointId}`)).body.data;
    expect(stats.delivery_stats).toMatchObject({ total_attempts: 1, successful_deliveries: 1, failed_deliveries: 0, last_response_time: 40 });
    expect(stats.last_triggered).not.toBeNull();
    const keys = await listKeys(stack.db, TENANT, { scope: { type: 'endpoint', id: endpointId }, limit: 10, offset: 0 });
    expect(keys.items[0]!.usage_count).toBe(1);
  });
});

describe('when two successes end a long failure at once', () => {
  it("then the one whose update finds the health already cleared still reports the endpoint healthy, so nothing switches it off", async () => {
    const { endpointId } = await endpointWithKey();
    const sixDaysAgo = new Date(Date.now() - 6 * 86_400_000);
    await stack.db('endpoints').where({ id: endpointId }).update({ failing_since: sixDaysAgo, consecutive_failures: 3 });
    const row = await attemptOf(endpointId, 'succeeded');
    // The first success's statement: it clears the health, and commits while the second waits on the row.
    const first = await stack.db.transaction();
    await first('endpoints').where({ id: endpointId }).update({ failing_since: null, consecutive_failures: 0 });
    const second = storeAttempt(stack.db, row, { reachedReceiver: true, keyIds: [] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await first.commit();
    const stored = await second;
    expect(stored.health).toEqual({ failingSince: null, isActive: true });
    expect(stored.endpoint).toMatchObject({ consecutiveFailures: 0, failingAlertedPercent: 0 });
  });
});

describe('when one endpoint records many attempts at once', () => {
  it('then each is counted once, a failure and the success after it move the health, and the same attempt again counts nothing', async () => {
    const { endpointId, keyId } = await endpointWithKey();
    const rows = await Promise.all(Array.from({ length: 30 }, () => attemptOf(endpointId, 'succeeded')));
    await Promise.all(rows.map((row) => storeAttempt(stack.db, row, { reachedReceiver: true, keyIds: [keyId] })));
    // The same attempt again (a retried step): nothing moves.
    expect((await storeAttempt(stack.db, rows[0]!, { reachedReceiver: true, keyIds: [keyId] })).inserted).toBe(false);

    const failed = await attemptOf(endpointId, 'failed');
    const afterFailure = await storeAttempt(stack.db, failed, { reachedReceiver: true, keyIds: [keyId] });
    expect(afterFailure.health?.failingSince).toBeInstanceOf(Date);
    expect(afterFailure.endpoint?.consecutiveFailures).toBe(1);
    const recovered = await storeAttempt(stack.db, await attemptOf(endpointId, 'succeeded', 2, failed.delivery_id), { reachedReceiver: true, keyIds: [keyId], readActiveUsage: true });
    expect(recovered.health?.failingSince).toBeNull();
    expect(recovered.endpoint?.consecutiveFailures).toBe(0);
    expect(recovered.activeKeyUsage).toBe(32);

    const res = await stack.call('GET', `/api/v1/endpoints/${endpointId}`);
    expect(res.body.data.delivery_stats).toMatchObject({ total_attempts: 32, successful_deliveries: 31, failed_deliveries: 0, success_rate: 100 });
    const listed = await stack.call('GET', '/api/v1/endpoints');
    expect(listed.body.data.items.find((e: { id: string }) => e.id === endpointId)).toBeDefined();
    const keys = await listKeys(stack.db, TENANT, { scope: { type: 'endpoint', id: endpointId }, limit: 10, offset: 0 });
    expect(keys.items[0]!.usage_count).toBe(32);
  });
});

/** Whether the tenant's row is locked by the transaction `trx` (its xid in the row's xmax). */
async function tenantRowLockedBy(trx: Stack['db']): Promise<boolean> {
  const { rows } = await trx.raw<{ rows: Array<{ mine: boolean }> }>(
    `select t.xmax::text = (txid_current() % 4294967296)::text as mine from tenants t where t.id = ?`,
    [TENANT],
  );
  return rows[0]!.mine;
}

describe("when an attempt or a delivery is stored (migration 023)", () => {
  it("then the tenant's row is not locked by it, and each still needs its delivery or its event", async () => {
    const { endpointId, keyId } = await endpointWithKey();
    const row = await attemptOf(endpointId, 'succeeded');
    await stack.db.transaction(async (trx) => {
      await storeAttempt(trx, row, { reachedReceiver: true, keyIds: [keyId] });
      // A foreign key to the tenant's row would hold a share lock on it until this transaction ends.
      expect(await tenantRowLockedBy(trx)).toBe(false);
    });
    const eventId = (await stack.db('deliveries').where({ id: row.delivery_id }).first()).event_id as string;
    const other = await stack.call('POST', '/api/v1/endpoints', { url: 'https://other.example.com/hooks', events: ['counts.test'] });
    expect(other.status).toBe(201);
    await stack.db.transaction(async (trx) => {
      await trx('deliveries').insert({ id: newId('dlv'), tenant_id: TENANT, event_id: eventId, endpoint_id: other.body.data.id, workflow_id: `delivery-${eventId}-${other.body.data.id}` });
      expect(await tenantRowLockedBy(trx)).toBe(false);
    });

    // The keys that carry the tenant still hold: no attempt without its delivery, no delivery without its event.
    await expect(storeAttempt(stack.db, { ...row, delivery_id: newId('dlv') }, { reachedReceiver: true, keyIds: [] })).rejects.toMatchObject({ code: '23503' });
    await expect(
      stack.db('deliveries').insert({ id: newId('dlv'), tenant_id: TENANT, event_id: newId('evt'), endpoint_id: endpointId, workflow_id: `delivery-x-${endpointId}` }),
    ).rejects.toMatchObject({ code: '23503' });
  });
});
