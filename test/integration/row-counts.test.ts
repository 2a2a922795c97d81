import { setTimeout as sleep } from 'node:timers/promises';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { migrationSource } from '../../src/db/migrations';
import { INSERT_SHARDS } from '../../src/db/migrations/020-row-counts';
import { deliveryStats, endpointSummary } from '../../src/db/endpoint-stats-repo';
import { insertEventWithDeliveries } from '../../src/db/events-repo';
import { purgeBatch } from '../../src/db/retention-repo';
import { PURGE_ORDER, purgeTenantRows } from '../../src/db/tenant-purge-repo';
import { newId } from '../../src/ids';
import { newDeliveries } from '../../src/services/ingest';
import { createOwnDatabase, type OwnDatabase } from '../helpers/own-database';
import { seedDeliveries } from '../helpers/seed-deliveries';

/**
 * The running counts behind the endpoint list's summary and an endpoint's figures (migration
 * 020): whatever inserts or deletes events and deliveries, concurrently or not, the counts equal
 * the rows. A database of this file's own, with a pool wide enough for real concurrency.
 */
let own: OwnDatabase;
let db: Knex;

beforeAll(async () => {
  own = await createOwnDatabase('row_counts');
  db = knexFactory({ client: 'pg', connection: own.url, pool: { min: 0, max: 20 } });
  await db.migrate.latest({ migrationSource });
});
afterAll(async () => {
  await db?.destroy();
  await own?.drop();
});

async function tenantWithEndpoints(tenantId: string, n: number): Promise<string[]> {
  await db('tenants').insert({ id: tenantId, name: tenantId });
  const ids = Array.from({ length: n }, (_, i) => `ep_${tenantId}_${i}`);
  await db('endpoints').insert(ids.map((id) => ({ id, tenant_id: tenantId, url: 'https://example.com/hook', events: JSON.stringify(['*']) })));
  return ids;
}

function ingest(tenantId: string, endpointIds: string[], idempotencyKey: string | null = null) {
  const id = newId('evt');
  return insertEventWithDeliveries(db, tenantId, { id, type: 'count.me', body: '{}', idempotencyKey }, newDeliveries(id, endpointIds));
}

const rows = async (table: string, where: Record<string, string>) => Number((await db(table).where(where).count<{ n: string }[]>({ n: '*' }))[0]!.n);

/** Each count as the API reads it, against the rows themselves. */
async function expectCountsMatchRows(tenantId: string, endpointIds: string[]): Promise<void> {
  expect((await endpointSummary(db, tenantId)).total_events).toBe(await rows('events', { tenant_id: tenantId }));
  for (const id of endpointIds) {
    expect([id, (await deliveryStats(db, tenantId, id)).total_deliveries]).toEqual([id, await rows('deliveries', { endpoint_id: id })]);
  }
}

describe('when events are ingested', () => {
  it('then each counts once, for its own tenant and endpoints; a repeated idempotency key counts nothing', async () => {
    const a = await tenantWithEndpoints('count_a', 2);
    const b = await tenantWithEndpoints('count_b', 1);
    await ingest('count_a', a);
    await ingest('count_a', [a[0]!]);
    await ingest('count_a', [], 'key-1');
    await ingest('count_a', [], 'key-1');
    await ingest('count_b', b);
    expect((await endpointSummary(db, 'count_a')).total_events).toBe(3);
    expect((await endpointSummary(db, 'count_b')).total_events).toBe(1);
    expect((await deliveryStats(db, 'count_a', a[0]!)).total_deliveries).toBe(2);
    expect((await deliveryStats(db, 'count_a', a[1]!)).total_deliveries).toBe(1);
    // Another tenant asking for the endpoint sees none of it.
    expect((await deliveryStats(db, 'count_b', a[0]!)).total_deliveries).toBe(0);
    expect((await endpointSummary(db, 'count_none')).total_events).toBe(0);
  });
});

describe('when one tenant ingests concurrently while retention purges its old deliveries', () => {
  it('then nothing fails or waits on a deadlock, and the counts equal the rows', async () => {
    const endpoints = await tenantWithEndpoints('count_busy', 3);
    for (const id of endpoints) {
      await seedDeliveries(db, { tenantId: 'count_busy', endpointId: id, count: 200, ending: 'failed', createdAt: new Date(Date.now() - 10 * 86_400_000) });
    }
    const before = new Date(Date.now() - 86_400_000);
    const purge = async () => {
      let deleted = 0;
      for (;;) {
        const batch = await purgeBatch(db, { tenantId: 'count_busy', before }, 50);
        deleted += batch.deliveries;
        if (batch.deliveries === 0 && batch.events === 0) return deleted;
      }
    };
    // Every ingest names the endpoints in a different order.
    const orders = [endpoints, [...endpoints].reverse(), [endpoints[1]!, endpoints[2]!, endpoints[0]!]];
    const ingests = Array.from({ length: 150 }, (_, i) => ingest('count_busy', orders[i % 3]!));
    const [purged] = await Promise.all([purge(), ...ingests]);
    expect(purged).toBe(600);
    expect(await rows('events', { tenant_id: 'count_busy' })).toBe(150);
    await expectCountsMatchRows('count_busy', endpoints);
  });
});

/** A connection of its own, with its server process id. */
async function session(): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: own.url });
  await client.connect();
  return { client, pid: (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid };
}

/** The shard a connection's counts go to: dealt the first time it counts, or asks. */
const shardOf = async (client: pg.Client) => (await client.query<{ shard: number }>('select count_shard() as shard')).rows[0]!.shard;

/** Ingest's shape on one connection: one statement storing an event and its delivery. */
function ingestOn(client: pg.Client, tenantId: string, endpointId: string) {
  const eventId = newId('evt');
  return client.query<{ n: string }>(
    `with ev as (insert into events (id, tenant_id, type, body) values ($1, $2, 'count.me', '{}') returning id),
          dl as (insert into deliveries (id, tenant_id, event_id, endpoint_id, workflow_id)
                 select $3, $2, id, $4, $5 from ev returning id)
     select (select count(*) from dl) as n`,
    [eventId, tenantId, newId('dlv'), endpointId, `wf-${eventId}`],
  );
}

describe('when connections count at once', () => {
  it('then each is dealt a shard of its own in turn and keeps it, whatever its server process id', async () => {
    const clients: pg.Client[] = [];
    try {
      for (let i = 0; i < INSERT_SHARDS; i++) clients.push((await session()).client);
      const shards = await Promise.all(clients.map(shardOf));
      expect(new Set(shards).size).toBe(INSERT_SHARDS);
      expect(await Promise.all(clients.map(shardOf))).toEqual(shards);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('then an ingest does not wait for another whose server process id falls on the same shard (it did with pg_backend_pid() % 16)', async () => {
    const [endpointId] = await tenantWithEndpoints('count_pids', 1);
    const first = await session();
    const others: pg.Client[] = [];
    let second: Awaited<ReturnType<typeof session>> | undefined;
    try {
      while (!second) {
        const next = await session();
        if (next.pid % INSERT_SHARDS === first.pid % INSERT_SHARDS) second = next;
        else others.push(next.client);
      }
      await first.client.query('begin');
      expect((await ingestOn(first.client, 'count_pids', endpointId!)).rows).toEqual([{ n: '1' }]);
      // The first holds its count rows until it commits; the second must not queue behind them.
      await second.client.query(`set lock_timeout = '2s'`);
      expect((await ingestOn(second.client, 'count_pids', endpointId!)).rows).toEqual([{ n: '1' }]);
      await first.client.query('commit');
      await expectCountsMatchRows('count_pids', [endpointId!]);
    } finally {
      await Promise.all([first.client, second?.client, ...others].map((c) => c?.end()));
    }
  });
});

describe('when an ingest runs on a connection whose shard a purge transaction also uses', () => {
  it('then neither waits on the other: ingest counts events then deliveries, retention the other way round', async () => {
    const [endpointId] = await tenantWithEndpoints('count_lock', 1);
    const [old] = await seedDeliveries(db, { tenantId: 'count_lock', endpointId: endpointId!, count: 1, ending: 'failed', createdAt: new Date(Date.now() - 10 * 86_400_000) });
    const purger = await session();
    const purgerShard = await shardOf(purger.client);
    const others: pg.Client[] = [];
    let ingester: Awaited<ReturnType<typeof session>> | undefined;
    try {
      // Connections until one lands on the purger's insert shard.
      while (!ingester) {
        const next = await session();
        if ((await shardOf(next.client)) === purgerShard) ingester = next;
        else others.push(next.client);
      }
      // Retention's order within its transaction: the delivery, then its event.
      await purger.client.query('begin');
      await purger.client.query('delete from attempts where delivery_id = $1', [old!.deliveryId]);
      await purger.client.query('delete from deliveries where id = $1', [old!.deliveryId]);
      const ingest = ingestOn(ingester.client, 'count_lock', endpointId!);
      await sleep(200);
      await purger.client.query('delete from events where id = $1', [old!.eventId]);
      await purger.client.query('commit');
      expect((await ingest).rows).toEqual([{ n: '1' }]);
      await expectCountsMatchRows('count_lock', [endpointId!]);
    } finally {
      await Promise.all([purger.client, ingester?.client, ...others].map((c) => c?.end()));
    }
  });
});

describe('when a tenant is purged', () => {
  it('then its counts go with its rows, in PURGE_ORDER', async () => {
    const endpoints = await tenantWithEndpoints('count_gone', 2);
    for (let i = 0; i < 5; i++) await ingest('count_gone', endpoints);
    for (const table of PURGE_ORDER) await purgeTenantRows(db, 'count_gone', table, 1000);
    for (const table of ['tenant_event_counts', 'endpoint_delivery_counts']) {
      expect([table, await rows(table, { tenant_id: 'count_gone' })]).toEqual([table, 0]);
    }
    await expectCountsMatchRows('count_gone', endpoints);
  });
});
