import type { Knex } from 'knex';

/**
 * What each attempt adds to its endpoint's running counts and to its signing keys' usage, split
 * over shard rows, as migration 020 splits event and delivery counts. Before, every attempt
 * updated its endpoint's row and its key's row, so the attempts of one endpoint queued behind each
 * other's commits (a saturated bench run spent most of the record statement waiting on those two
 * rows' locks). Now an attempt adds to the shard row of its connection
 * (`pg_backend_pid() % ATTEMPT_SHARDS`), and touches the endpoint's row only when its health
 * changes (a failure, or the first success after failures).
 *
 * The endpoint's and the key's own columns keep what was counted before this migration (and an
 * endpoint's health); readers add the shard rows to them. Nothing is copied.
 */
export const ATTEMPT_SHARDS = 16;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('endpoint_attempt_counts', (t) => {
    t.text('tenant_id').notNullable();
    t.text('endpoint_id').notNullable();
    t.smallint('shard').notNullable();
    t.bigInteger('attempts').notNullable().defaultTo(0);
    t.bigInteger('responses').notNullable().defaultTo(0);
    t.bigInteger('response_ms').notNullable().defaultTo(0);
    t.bigInteger('succeeded').notNullable().defaultTo(0);
    t.bigInteger('failed').notNullable().defaultTo(0);
    t.integer('last_response_ms');
    t.timestamp('last_response_at', { useTz: true });
    t.timestamp('last_triggered_at', { useTz: true });
    t.primary(['endpoint_id', 'shard']);
    t.index(['tenant_id']);
  });
  await knex.schema.createTable('signing_key_uses', (t) => {
    t.text('tenant_id').notNullable();
    t.text('key_id').notNullable();
    t.smallint('shard').notNullable();
    t.bigInteger('uses').notNullable().defaultTo(0);
    t.primary(['key_id', 'shard']);
    t.index(['tenant_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('signing_key_uses');
  await knex.schema.dropTable('endpoint_attempt_counts');
}
