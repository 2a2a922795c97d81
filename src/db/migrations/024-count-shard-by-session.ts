import type { Knex } from 'knex';
import { countDeliveriesFunction, countEventsFunction, INSERT_SHARDS, PID_SHARD } from './020-row-counts';

/**
 * The shard row a connection's counts go to, dealt in turn instead of taken from its server
 * process id. Migrations 020 and 022 split each count over {@link INSERT_SHARDS} rows so that
 * concurrent writers of one tenant or endpoint do not queue on one row's lock, and picked the row
 * by `pg_backend_pid() % 16`. The operating system hands out process ids to every process and
 * thread, so ten pooled connections landed on about eight rows, and an ingest whose connection
 * shared a row with a busy one waited for that one's commit: in a saturated bench run the
 * tenant's count upsert took 0.31 ms a call against the endpoint's 0.02; 0.09 with this migration.
 *
 * Now `count_shard()` gives each database session the next value of a sequence, modulo the shard
 * count (022's `ATTEMPT_SHARDS` is the same 16), the first time it counts anything, and keeps it
 * in a session setting for the connection's life: up to 16 connections write to 16 different
 * rows, whichever processes hold them. A setting made in a transaction that rolls back is undone,
 * and the session then takes the next value; a pooler that hands server connections to clients
 * keeps the value with the server connection, whose locks are what the rows spread.
 */
const SHARD_SETTING = 'webhooks.count_shard';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create sequence count_shard_seq as bigint');
  // COALESCE evaluates its second argument only when the first is null: one sequence value per session.
  await knex.raw(`
    create function count_shard() returns int language sql volatile parallel unsafe as $$
      select coalesce(
        nullif(current_setting('${SHARD_SETTING}', true), '')::int,
        set_config('${SHARD_SETTING}', (nextval('count_shard_seq') % ${INSERT_SHARDS})::text, false)::int)
    $$`);
  await knex.raw(countEventsFunction('count_shard()'));
  await knex.raw(countDeliveriesFunction('count_shard()'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(countEventsFunction(PID_SHARD));
  await knex.raw(countDeliveriesFunction(PID_SHARD));
  await knex.raw('drop function count_shard()');
  await knex.raw('drop sequence count_shard_seq');
}
