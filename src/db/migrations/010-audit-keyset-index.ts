import type { Knex } from 'knex';

/** Audit pages walk one tenant's entries by id (keyset paging): index that walk. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (t) => {
    t.index(['tenant_id', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (t) => {
    t.dropIndex(['tenant_id', 'id']);
  });
}
