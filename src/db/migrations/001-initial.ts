import type { Knex } from 'knex';

/** Tenants, endpoints, their signing keys, events (body stored once), deliveries and attempts. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tenants', (t) => {
    t.text('id').primary();
    t.text('name').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('endpoints', (t) => {
    t.text('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id');
    t.text('url').notNullable();
    t.text('description');
    t.jsonb('events').notNullable();
    t.jsonb('retry_config');
    t.boolean('is_active').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('deleted_at', { useTz: true });
    t.index(['tenant_id', 'created_at']);
  });

  await knex.schema.createTable('signing_keys', (t) => {
    t.text('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id');
    t.text('scope_type').notNullable();
    t.text('scope_id').notNullable();
    t.text('state').notNullable();
    t.text('ciphertext').notNullable();
    t.text('master_key_id').notNullable();
    t.bigInteger('usage_count').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('retired_at', { useTz: true });
    t.index(['scope_type', 'scope_id', 'state']);
  });

  await knex.schema.createTable('events', (t) => {
    t.text('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id');
    t.text('type').notNullable();
    t.text('body').notNullable();
    t.text('idempotency_key');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('dispatched_at', { useTz: true });
    t.unique(['tenant_id', 'idempotency_key']);
    t.index(['tenant_id', 'created_at']);
  });

  await knex.schema.createTable('deliveries', (t) => {
    t.text('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id');
    t.text('event_id').notNullable().references('events.id');
    t.text('endpoint_id').notNullable().references('endpoints.id');
    t.text('workflow_id').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['event_id', 'endpoint_id']);
    t.index(['tenant_id', 'endpoint_id', 'created_at']);
  });

  await knex.schema.createTable('attempts', (t) => {
    t.bigIncrements('id');
    t.text('tenant_id').notNullable().references('tenants.id');
    t.text('delivery_id').notNullable().references('deliveries.id');
    t.text('endpoint_id').notNullable();
    t.text('event_id').notNullable();
    t.integer('attempt').notNullable();
    t.text('outcome').notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.integer('duration_ms').notNullable();
    t.integer('response_status');
    t.text('error_class');
    t.text('error_message');
    t.text('response_excerpt');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['delivery_id', 'attempt']);
    t.index(['endpoint_id', 'started_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['attempts', 'deliveries', 'events', 'signing_keys', 'endpoints', 'tenants']) {
    await knex.schema.dropTableIfExists(table);
  }
}
