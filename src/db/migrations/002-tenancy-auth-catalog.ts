import type { Knex } from 'knex';

/** Endpoint model complete, API keys, audit log, event type catalog, tenant settings. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tenants', (t) => {
    t.jsonb('settings').notNullable().defaultTo('{}');
  });

  await knex.schema.alterTable('endpoints', (t) => {
    t.text('name');
    t.jsonb('headers').notNullable().defaultTo('{}');
    t.jsonb('filters');
    t.text('scheme').notNullable().defaultTo('x-signature');
    t.timestamp('last_triggered_at', { useTz: true });
  });

  await knex.schema.alterTable('attempts', (t) => {
    // The delivery's state once this attempt was decided: retrying, succeeded or failed.
    t.text('delivery_status');
  });

  await knex.schema.createTable('api_keys', (t) => {
    t.text('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id');
    t.text('name').notNullable();
    t.text('prefix').notNullable();
    t.text('hash').notNullable().unique();
    t.jsonb('scopes').notNullable();
    t.text('created_by');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
    t.index(['tenant_id', 'created_at']);
  });

  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id');
    t.text('tenant_id').notNullable();
    t.text('actor').notNullable();
    t.text('action').notNullable();
    t.text('resource_type').notNullable();
    t.text('resource_id');
    t.text('trace_id');
    t.jsonb('details').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id', 'created_at']);
  });

  await knex.schema.createTable('event_types', (t) => {
    t.text('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id');
    t.text('name').notNullable();
    t.text('description');
    t.text('category');
    t.text('version');
    t.boolean('deprecated').notNullable().defaultTo(false);
    t.jsonb('payload_schema');
    t.jsonb('example_payload');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('deleted_at', { useTz: true });
  });
  await knex.raw('create unique index event_types_live_name on event_types (tenant_id, name) where deleted_at is null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('event_types');
  await knex.schema.dropTableIfExists('audit_log');
  await knex.schema.dropTableIfExists('api_keys');
  await knex.schema.alterTable('endpoints', (t) => {
    t.dropColumns('name', 'headers', 'filters', 'scheme', 'last_triggered_at');
  });
  await knex.schema.alterTable('attempts', (t) => t.dropColumn('delivery_status'));
  await knex.schema.alterTable('tenants', (t) => t.dropColumn('settings'));
}
