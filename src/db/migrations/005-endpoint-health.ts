import type { Knex } from 'knex';

/** When an endpoint started failing without a success since, and why it was disabled. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('endpoints', (t) => {
    t.timestamp('failing_since', { useTz: true });
    t.text('disabled_reason');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('endpoints', (t) => {
    t.dropColumn('failing_since');
    t.dropColumn('disabled_reason');
  });
}
