import type { Knex } from 'knex';

/**
 * Tenants managed through the API: an external id unique on the platform, metadata, a state
 * (`active`, `disabled`, `deleting`); platform API keys, which belong to no tenant; and the
 * platform audit log, which outlives the tenants it speaks of (no foreign key on purpose).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tenants', (t) => {
    t.text('external_id');
    t.jsonb('metadata').notNullable().defaultTo('{}');
    t.text('status').notNullable().defaultTo('active');
    t.text('disabled_reason');
    t.timestamp('disabled_at', { useTz: true });
    t.timestamp('deleted_at', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['external_id']);
    t.index(['created_at']);
  });
  await knex.raw("alter table tenants add constraint tenants_status_check check (status in ('active', 'disabled', 'deleting'))");

  await knex.schema.createTable('platform_api_keys', (t) => {
    t.text('id').primary();
    t.text('name').notNullable();
    t.text('prefix').notNullable();
    t.text('hash').notNullable().unique();
    t.jsonb('scopes').notNullable();
    t.text('created_by');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
  });

  await knex.schema.createTable('platform_audit_log', (t) => {
    t.bigIncrements('id');
    t.text('actor').notNullable();
    t.text('action').notNullable();
    // The tenant the entry is about, if any; kept after the tenant is deleted.
    t.text('tenant_id');
    t.text('resource_type').notNullable();
    t.text('resource_id');
    t.text('trace_id');
    t.jsonb('details').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('platform_audit_log');
  await knex.schema.dropTableIfExists('platform_api_keys');
  await knex.raw('alter table tenants drop constraint if exists tenants_status_check');
  await knex.schema.alterTable('tenants', (t) => {
    t.dropIndex(['created_at']);
    t.dropUnique(['external_id']);
    t.dropColumns('external_id', 'metadata', 'status', 'disabled_reason', 'disabled_at', 'deleted_at', 'updated_at');
  });
}
