import type { Knex } from 'knex';

/**
 * An endpoint's body template (integrations: Slack, custom JSON). Null sends the stored event
 * body as it is; the event body stays the one source either way.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('endpoints', (t) => {
    t.jsonb('template');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('endpoints', (t) => {
    t.dropColumn('template');
  });
}
