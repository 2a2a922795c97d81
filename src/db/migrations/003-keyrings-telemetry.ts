import type { Knex } from 'knex';

/**
 * Keyrings: tenant-scoped key lookups, `pending` keys (generated, not yet active), auto-rotation
 * policies per scope, and the telemetry event log (`key_rotation` events first).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('signing_keys', (t) => {
    t.index(['tenant_id', 'scope_type', 'scope_id', 'state']);
  });

  await knex.schema.createTable('key_policies', (t) => {
    t.text('tenant_id').notNullable().references('tenants.id');
    t.text('scope_type').notNullable();
    t.text('scope_id').notNullable();
    // Null: no schedule. Seconds between scheduled rotations.
    t.integer('interval_seconds');
    t.integer('grace_seconds').notNullable();
    // Null: no usage trigger. Signatures made with one active key before a rotation starts.
    t.bigInteger('usage_threshold');
    t.boolean('enabled').notNullable().defaultTo(true);
    t.text('schedule_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['tenant_id', 'scope_type', 'scope_id']);
  });

  await knex.schema.createTable('telemetry_events', (t) => {
    t.bigIncrements('id');
    t.text('tenant_id').notNullable();
    t.text('kind').notNullable();
    t.text('source').notNullable();
    t.jsonb('details').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id', 'kind', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('telemetry_events');
  await knex.schema.dropTableIfExists('key_policies');
  await knex.schema.alterTable('signing_keys', (t) => {
    t.dropIndex(['tenant_id', 'scope_type', 'scope_id', 'state']);
  });
}
