import type { Knex } from 'knex';

/**
 * Running counts of each tenant's events and each endpoint's deliveries, so the endpoint list's
 * summary and an endpoint's figures read a handful of rows instead of counting every event or
 * delivery the tenant keeps.
 *
 * Statement-level triggers keep them: every statement that inserts or deletes events or
 * deliveries (ingest, retention, a tenant's purge) adds what it changed, in its own transaction,
 * so a count can never drift from the rows. A count is split over shard rows that readers sum:
 * inserts go to one of {@link INSERT_SHARDS}, chosen by the writing connection, so concurrent
 * ingests of one tenant do not queue on one row's lock; deletes all go to one more shard of their
 * own. Ingest locks its event's count before its deliveries', retention the other way round (as
 * the foreign keys order their rows); as they never share a row, they cannot deadlock. Filled
 * from the rows already stored.
 */
export const INSERT_SHARDS = 16;

/** The insert shard as this migration picked it: by the connection's server process (migration 024 deals them in turn). */
export const PID_SHARD = `pg_backend_pid() % ${INSERT_SHARDS}`;

/** The shard a statement writes to: inserts to `insertShard`, an expression of the connection's; deletes to the last one. */
const shard = (insertShard: string) => `case when tg_argv[0]::int > 0 then ${insertShard} else ${INSERT_SHARDS} end`;

/** The trigger function counting events, its inserts going to `insertShard`. */
export const countEventsFunction = (insertShard: string) => `
    create or replace function count_events() returns trigger language plpgsql as $$
    begin
      insert into tenant_event_counts as c (tenant_id, shard, events)
        select tenant_id, ${shard(insertShard)}, tg_argv[0]::int * count(*) from changed group by tenant_id order by tenant_id
        on conflict (tenant_id, shard) do update set events = c.events + excluded.events;
      return null;
    end $$`;

/** The trigger function counting deliveries, its inserts going to `insertShard`. */
export const countDeliveriesFunction = (insertShard: string) => `
    create or replace function count_deliveries() returns trigger language plpgsql as $$
    begin
      insert into endpoint_delivery_counts as c (tenant_id, endpoint_id, shard, deliveries)
        select tenant_id, endpoint_id, ${shard(insertShard)}, tg_argv[0]::int * count(*) from changed
         group by tenant_id, endpoint_id order by endpoint_id
        on conflict (endpoint_id, shard) do update set deliveries = c.deliveries + excluded.deliveries;
      return null;
    end $$`;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tenant_event_counts', (t) => {
    t.text('tenant_id').notNullable();
    t.smallint('shard').notNullable();
    t.bigInteger('events').notNullable();
    t.primary(['tenant_id', 'shard']);
  });
  await knex.schema.createTable('endpoint_delivery_counts', (t) => {
    t.text('tenant_id').notNullable();
    t.text('endpoint_id').notNullable();
    t.smallint('shard').notNullable();
    t.bigInteger('deliveries').notNullable();
    t.primary(['endpoint_id', 'shard']);
    t.index(['tenant_id']);
  });
  // TG_ARGV[0] is +1 for inserts, -1 for deletes; both triggers name their transition table
  // `changed`. Rows are upserted in key order, so two statements never wait on each other's
  // rows in opposite orders.
  await knex.raw(countEventsFunction(PID_SHARD));
  await knex.raw(countDeliveriesFunction(PID_SHARD));
  for (const [table, fn] of [['events', 'count_events'], ['deliveries', 'count_deliveries']]) {
    await knex.raw(`create trigger ${table}_counted_in after insert on ${table} referencing new table as changed for each statement execute function ${fn}('1')`);
    await knex.raw(`create trigger ${table}_counted_out after delete on ${table} referencing old table as changed for each statement execute function ${fn}('-1')`);
  }
  await knex.raw(`insert into tenant_event_counts (tenant_id, shard, events) select tenant_id, 0, count(*) from events group by tenant_id`);
  await knex.raw(`
    insert into endpoint_delivery_counts (tenant_id, endpoint_id, shard, deliveries)
    select tenant_id, endpoint_id, 0, count(*) from deliveries group by tenant_id, endpoint_id`);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['events', 'deliveries']) {
    await knex.raw(`drop trigger ${table}_counted_in on ${table}`);
    await knex.raw(`drop trigger ${table}_counted_out on ${table}`);
  }
  await knex.raw('drop function count_events()');
  await knex.raw('drop function count_deliveries()');
  await knex.schema.dropTable('endpoint_delivery_counts');
  await knex.schema.dropTable('tenant_event_counts');
}
