import type { Knex } from 'knex';

/**
 * Per-endpoint send rate: `rate_limit` requests per second at most, shared by every worker
 * through `rate_next_slot_at`, the earliest time the next request may go (each sender reserves
 * the slot it gets, so waiting deliveries spread out instead of retrying together).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('endpoints', (t) => {
    t.integer('rate_limit');
    t.timestamp('rate_next_slot_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('endpoints', (t) => {
    t.dropColumn('rate_limit');
    t.dropColumn('rate_next_slot_at');
  });
}
