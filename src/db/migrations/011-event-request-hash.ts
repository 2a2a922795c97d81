import type { Knex } from 'knex';

/**
 * A fingerprint of the request that created an event (SHA-256 of its canonical type, payload and
 * lang), so a reused Idempotency-Key with a different request is refused instead of replayed.
 * Events stored before have none: they are compared with their stored body instead.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('events', (t) => {
    t.text('request_hash');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('events', (t) => {
    t.dropColumn('request_hash');
  });
}
