import { storeAttempt, type AttemptRow } from '../../src/db/attempts-repo';
import { insertEventWithDeliveries } from '../../src/db/events-repo';
import { hotStatement, openDatabase, type Db } from '../../src/db/knex';
import { listKeys } from '../../src/db/signing-keys-repo';
import { loadConfig } from '../../src/config';
import { newId } from '../../src/ids';
import { createLogger } from '../../src/logger';
import { newDeliveries } from '../../src/services/ingest';
import { eventually, startStack, type Stack } from '../helpers/stack';

/**
 * The delivery path's statements run as named prepared statements (src/db/knex.ts
 * `hotStatement`): Postgres parses and plans each text once per connection. Checked on a pool of
 * one connection, whose `pg_prepared_statements` lists what it holds.
 */
const TENANT = 'prepared_statement_tests';
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: false, env: { DEFAULT_TENANT_ID: TENANT } });
});
afterAll(() => stack?.stop());

/** A pool of one connection on the stack's database. */
function oneConnection(prepared: boolean): Db {
  const config = loadConfig({ ...process.env, DATABASE_URL: stack.config.DATABASE_URL, DATABASE_POOL_MAX: '1', DATABASE_PREPARED_STATEMENTS: String(prepared) });
  return openDatabase(config, createLogger('silent', 'test'));
}

async function heldStatements(db: Db): Promise<string[]> {
  const { rows } = await db.raw("select statement from pg_prepared_statements where name like 'hot\\_%' order by statement");
  return (rows as Array<{ statement: string }>).map((r) => r.statement);
}

describe('a hot statement', () => {
  it('is prepared once on its connection and reused, in a transaction too', async () => {
    const db = oneConnection(true);
    try {
      for (const n of [1, 2, 3]) {
        const { rows } = await hotStatement(db, 'select ?::int + 1 as next', [n]);
        expect(rows[0].next).toBe(n + 1);
      }
      await db.transaction(async (trx) => {
        const { rows } = await hotStatement(trx, 'select ?::int + 1 as next', [41]);
        expect(rows[0].next).toBe(42);
      });
      expect(await heldStatements(db)).toEqual(['select $1::int + 1 as next']);
    } finally {
      await db.destroy();
    }
  });

  it('is not prepared with DATABASE_PREPARED_STATEMENTS=false (a pooler that cannot keep them)', async () => {
    const db = oneConnection(false);
    try {
      const { rows } = await hotStatement(db, 'select ?::int * 2 as twice', [21]);
      expect(rows[0].twice).toBe(42);
      expect(await heldStatements(db)).toEqual([]);
    } finally {
      await db.destroy();
    }
  });
});

describe('the pool hot statements and knex share', () => {
  /** Whether a Postgres backend is still there, asked on the stack's own connections. */
  async function backendAlive(pid: number): Promise<boolean> {
    const { rows } = await stack.db.raw('select 1 from pg_stat_activity where pid = ?', [pid]);
    return rows.length > 0;
  }

  it("is one pool: a hot statement runs on knex's connection, counted as knex's statements are, and `?` becomes `$n` (`\\?` stays `?`)", async () => {
    const db = oneConnection(true);
    const seen: string[] = [];
    db.on('query', (q: { sql: string }) => seen.push(q.sql));
    try {
      const knexPid = (await db.raw('select pg_backend_pid() as pid')).rows[0].pid as number;
      const { rows } = await hotStatement<{ pid: number; has: boolean; n: number }>(db, `select pg_backend_pid() as pid, '{"a":1}'::jsonb \\? 'a' as has, ?::int as n`, [7]);
      expect(rows[0]).toEqual({ pid: knexPid, has: true, n: 7 });
      expect(seen).toEqual(['select pg_backend_pid() as pid', `select pg_backend_pid() as pid, '{"a":1}'::jsonb \\? 'a' as has, ?::int as n`]);
      await expect(hotStatement(db, 'select ?::int as n', [undefined as unknown as number])).rejects.toThrow(/undefined binding at position 1/);
    } finally {
      await db.destroy();
    }
  });

  it('survives a connection killed while knex holds it, and destroying the database closes its connections', async () => {
    const db = oneConnection(true);
    let pid = 0;
    await expect(
      db.transaction(async (trx) => {
        pid = (await trx.raw('select pg_backend_pid() as pid')).rows[0].pid as number;
        await stack.db.raw('select pg_terminate_backend(?)', [pid]);
        await eventually(async () => ((await backendAlive(pid)) ? undefined : true), 10_000, 'the backend gone');
        await trx.raw('select 1');
      }),
    ).rejects.toThrow();
    // Still this process, and the pool gives a new connection.
    const { rows } = await hotStatement<{ pid: number }>(db, 'select pg_backend_pid() as pid', []);
    expect(rows[0]!.pid).not.toBe(pid);
    expect(await backendAlive(rows[0]!.pid)).toBe(true);
    await db.destroy();
    await eventually(async () => ((await backendAlive(rows[0]!.pid)) ? undefined : true), 10_000, 'the pool closed');
    await db.destroy(); // a second destroy is harmless
  });
});

describe("an attempt's record", () => {
  it('keeps one prepared text whatever the response time, so a connection holds a few variants, not one per attempt', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: 'https://receiver.example.com/hooks', events: ['prepared.test'] });
    expect(created.status).toBe(201);
    const endpointId = created.body.data.id as string;
    const keys = await listKeys(stack.db, TENANT, { scope: { type: 'endpoint', id: endpointId }, limit: 10, offset: 0 });
    const db = oneConnection(true);
    try {
      for (const durationMs of [12, 345, 6789]) {
        const eventId = newId('evt');
        const { deliveries } = await insertEventWithDeliveries(db, TENANT, { id: eventId, type: 'prepared.test', body: '{}', idempotencyKey: null }, newDeliveries(eventId, [endpointId]));
        const row: AttemptRow = {
          tenant_id: TENANT,
          delivery_id: deliveries[0]!.id,
          endpoint_id: endpointId,
          event_id: eventId,
          attempt: 1,
          outcome: 'succeeded',
          started_at: new Date(),
          duration_ms: durationMs,
          response_status: 200,
          error_class: null,
          error_message: null,
          response_excerpt: null,
          delivery_status: 'succeeded',
        };
        expect(await storeAttempt(db, row, { reachedReceiver: true, keyIds: [keys.items[0]!.id] })).toMatchObject({ inserted: true });
      }
      // The event's insert and the attempt's record: one text each.
      expect(await heldStatements(db)).toHaveLength(2);
    } finally {
      await db.destroy();
    }
    const stats = (await stack.call('GET', `/api/v1/endpoints/${endpointId}`)).body.data;
    expect(stats.delivery_stats).toMatchObject({ total_attempts: 3, successful_deliveries: 3, last_response_time: 6789 });
  });
});
