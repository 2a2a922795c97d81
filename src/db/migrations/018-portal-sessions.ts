import type { Knex } from 'knex';

/**
 * Portal sessions, opened by one-time links. A row is born as a link (the SHA-256 of its code,
 * valid until `link_expires_at`); opening it, once, stores the SHA-256 of the session token and
 * the session's own expiry. Neither the code nor the token is ever stored in the clear.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('portal_sessions', (t) => {
    t.text('id').primary();
    t.text('tenant_id').notNullable().references('id').inTable('tenants');
    t.text('code_hash').notNullable().unique();
    t.text('token_hash').unique();
    t.jsonb('scopes').notNullable();
    t.boolean('read_only').notNullable().defaultTo(false);
    // How long the session lasts once the link is opened.
    t.integer('session_seconds').notNullable();
    t.text('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('link_expires_at', { useTz: true }).notNullable();
    t.timestamp('opened_at', { useTz: true });
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('ended_at', { useTz: true });
    t.index(['tenant_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('portal_sessions');
}
