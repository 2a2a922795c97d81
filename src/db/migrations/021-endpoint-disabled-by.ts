import type { Knex } from 'knex';

/**
 * The attempt that switched an endpoint off (`<delivery id>:<attempt>`), so a retried delivery
 * step that finds its attempt already stored can tell that its first run disabled the endpoint,
 * and report `endpoint.disabled` the first run may not have reported.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('endpoints', (t) => {
    t.text('disabled_by');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('endpoints', (t) => {
    t.dropColumn('disabled_by');
  });
}
