import knexFactory, { type Knex } from 'knex';
import { migrationSource } from '../../src/db/migrations';
import { createOwnDatabase, type OwnDatabase } from '../helpers/own-database';

/** A database of this file's own, so the schema can be walked up one migration at a time. */
let own: OwnDatabase;
let db: Knex;

beforeAll(async () => {
  own = await createOwnDatabase('migrations');
  db = knexFactory({ client: 'pg', connection: own.url });
});
afterAll(async () => {
  await db?.destroy();
  await own?.drop();
});

async function migrateUpTo(last: string): Promise<void> {
  for (;;) {
    const [, pending] = (await db.migrate.list({ migrationSource })) as [unknown[], Array<[string, unknown]>];
    const next = pending[0];
    if (!next || next[0] > last) return;
    await db.migrate.up({ migrationSource });
  }
}

describe('when an existing database gets the endpoint counters', () => {
  it('then each endpoint is filled from its recorded attempts, by each delivery\'s latest attempt', async () => {
    await migrateUpTo('008-endpoint-template');
    await db('tenants').insert({ id: 't', name: 't' });
    await db('endpoints').insert({ id: 'ep_1', tenant_id: 't', url: 'https://example.com', events: JSON.stringify(['*']) });
    const deliveries = ['dlv_ok', 'dlv_redelivered', 'dlv_failed', 'dlv_waiting'];
    await db('events').insert(deliveries.map((d) => ({ id: `evt_${d}`, tenant_id: 't', type: 'a.b', body: '{}' })));
    await db('deliveries').insert(deliveries.map((id) => ({ id, tenant_id: 't', event_id: `evt_${id}`, endpoint_id: 'ep_1', workflow_id: `w-${id}` })));
    const attempt = (delivery: string, n: number, status: number | null, deliveryStatus: string, at: string) => ({
      tenant_id: 't', delivery_id: delivery, endpoint_id: 'ep_1', event_id: `evt_${delivery}`, attempt: n,
      outcome: deliveryStatus === 'succeeded' ? 'succeeded' : 'retryable', started_at: new Date(at), duration_ms: 100 * n,
      response_status: status, error_class: null, error_message: null, response_excerpt: null, delivery_status: deliveryStatus,
    });
    await db('attempts').insert([
      attempt('dlv_ok', 1, 200, 'succeeded', '2026-01-01T00:00:00Z'),
      attempt('dlv_redelivered', 1, 500, 'failed', '2026-01-01T00:01:00Z'),
      attempt('dlv_redelivered', 2, 200, 'succeeded', '2026-01-01T00:02:00Z'),
      attempt('dlv_failed', 1, null, 'failed', '2026-01-01T00:03:00Z'),
      attempt('dlv_waiting', 1, 503, 'retrying', '2026-01-01T00:04:00Z'),
    ]);

    await db.migrate.latest({ migrationSource });
    const row = await db('endpoints').where({ id: 'ep_1' }).first();
    expect(row).toMatchObject({ deliveries_succeeded: '2', deliveries_failed: '1', attempts_total: '5', responses_total: '4', response_ms_total: '500', last_response_ms: 100 });
    // And the running counts of events and deliveries (020) are filled from the stored rows.
    expect(await db('tenant_event_counts').where({ tenant_id: 't' }).sum({ n: 'events' })).toEqual([{ n: '4' }]);
    expect(await db('endpoint_delivery_counts').where({ endpoint_id: 'ep_1' }).sum({ n: 'deliveries' })).toEqual([{ n: '4' }]);
  });
});
