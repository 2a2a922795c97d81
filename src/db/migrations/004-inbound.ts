import type { Knex } from 'knex';

/** Inbound sources, anti-replay nonces, per-source rate windows, telemetry lookup columns. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('inbound_sources', (t) => {
    t.text('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id');
    t.text('name').notNullable();
    t.jsonb('allowed_handlers').notNullable();
    t.text('default_handler').notNullable();
    t.integer('rate_limit_per_minute').notNullable();
    t.integer('tolerance_seconds').notNullable();
    t.boolean('is_active').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('deleted_at', { useTz: true });
    t.index(['tenant_id', 'created_at']);
  });

  await knex.schema.createTable('inbound_nonces', (t) => {
    t.text('source_id').notNullable();
    t.text('nonce').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['source_id', 'nonce']);
    t.index(['created_at']);
  });

  await knex.schema.createTable('inbound_rate_windows', (t) => {
    t.text('source_id').notNullable();
    t.timestamp('window_start', { useTz: true }).notNullable();
    t.integer('count').notNullable();
    t.primary(['source_id', 'window_start']);
  });

  await knex.schema.alterTable('telemetry_events', (t) => {
    t.text('trace_id');
    t.text('result');
    t.text('remote_addr');
    t.index(['trace_id']);
    t.index(['kind', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('telemetry_events', (t) => {
    t.dropIndex(['kind', 'created_at']);
    t.dropIndex(['trace_id']);
    t.dropColumns('trace_id', 'result', 'remote_addr');
  });
  await knex.schema.dropTableIfExists('inbound_rate_windows');
  await knex.schema.dropTableIfExists('inbound_nonces');
  await knex.schema.dropTableIfExists('inbound_sources');
}
