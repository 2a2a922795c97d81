import type { Knex } from 'knex';

/**
 * Endpoint URLs that carry a secret are sealed (`url_sealed`, under the master key; `url` then
 * holds the masked form). Rate-limit slots that waiting deliveries gave back (`rate_released_slots`,
 * epoch microseconds) let the reservation cursor move back over them.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('endpoints', (t) => {
    t.text('url_sealed');
    t.specificType('rate_released_slots', 'bigint[]');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('endpoints', (t) => {
    t.dropColumn('url_sealed');
    t.dropColumn('rate_released_slots');
  });
}
