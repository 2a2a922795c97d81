import type { Knex } from 'knex';

/**
 * Drops the foreign keys from attempts and deliveries to their tenant's row. Each is carried by
 * a key that stays: an attempt belongs to its delivery (`attempts.delivery_id`), a delivery to its
 * event (`deliveries.event_id`), and the event to its tenant (`events.tenant_id`). The tenant ids
 * stay and are written from the rows those keys check, and a tenant's purge deletes attempts,
 * then deliveries, then events before the tenant's row (`PURGE_ORDER`).
 *
 * Postgres checks a foreign key by locking the referenced row (`for key share`) until the writing
 * transaction ends, so every attempt a worker stored and every delivery ingest stored locked the
 * one row of its tenant. Under load those locks overlap, and each lock taken beside another makes
 * Postgres write a new multixact listing every transaction holding the row: work and SLRU pages
 * per attempt, and multixact ids a busy tenant used up towards their wraparound vacuum. Measured
 * with the bench's step run (5,000 attempts, 32 at a time): 3,703 multixacts before, none after.
 * Postgres's CPU per attempt moved less than that run's noise (see docs/benchmark.md).
 */
const KEYS = [
  { table: 'attempts', name: 'attempts_tenant_id_foreign' },
  { table: 'deliveries', name: 'deliveries_tenant_id_foreign' },
] as const;

export async function up(knex: Knex): Promise<void> {
  for (const { table, name } of KEYS) await knex.raw('alter table ?? drop constraint if exists ??', [table, name]);
}

export async function down(knex: Knex): Promise<void> {
  for (const { table, name } of KEYS) await knex.raw('alter table ?? add constraint ?? foreign key (tenant_id) references tenants (id)', [table, name]);
}
