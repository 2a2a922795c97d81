import type { Knex } from 'knex';

/** A stream's replay reads one tenant's attempts after an id: index that walk. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('attempts', (t) => {
    t.index(['tenant_id', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('attempts', (t) => {
    t.dropIndex(['tenant_id', 'id']);
  });
}
