import type { Knex } from 'knex';

/**
 * Recoveries: one row per request to redeliver an endpoint's failed deliveries in a time window,
 * with the progress its workflow notes once a page; at most one running per endpoint. Retention:
 * the time before which a tenant's deliveries, attempts and events were purged (`purged_before`:
 * a delivery id older than it that no longer exists answers 410), and an index the purge and the
 * recovery's keyset pages walk.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('recoveries', (t) => {
    t.text('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id');
    t.text('endpoint_id').notNullable().references('endpoints.id');
    t.text('workflow_id').notNullable().unique();
    t.timestamp('since', { useTz: true }).notNullable();
    t.timestamp('until', { useTz: true }).notNullable();
    t.text('state').notNullable().defaultTo('running');
    t.text('reason');
    t.integer('found').notNullable().defaultTo(0);
    t.integer('redelivered').notNullable().defaultTo(0);
    t.integer('skipped').notNullable().defaultTo(0);
    // Redelivered deliveries of this recovery that then succeeded.
    t.integer('delivered').notNullable().defaultTo(0);
    t.text('requested_by').notNullable();
    t.timestamp('cancel_requested_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
    t.index(['tenant_id', 'endpoint_id', 'created_at']);
  });
  await knex.raw("alter table recoveries add constraint recoveries_state_check check (state in ('running', 'completed', 'cancelled', 'failed'))");
  await knex.raw("create unique index recoveries_one_running on recoveries (endpoint_id) where state = 'running'");
  await knex.schema.alterTable('tenants', (t) => {
    t.timestamp('purged_before', { useTz: true });
  });
  await knex.raw('create index deliveries_endpoint_created on deliveries (endpoint_id, created_at, id)');
  await knex.raw('create index deliveries_tenant_created on deliveries (tenant_id, created_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists deliveries_tenant_created');
  await knex.raw('drop index if exists deliveries_endpoint_created');
  await knex.schema.alterTable('tenants', (t) => t.dropColumn('purged_before'));
  await knex.schema.dropTableIfExists('recoveries');
}
