import type { Knex } from 'knex';

/**
 * Operational webhooks and circuit breaking. An endpoint is `standard` (the tenant's events) or
 * `operational` (the service's events about the tenant's endpoints, deliveries and keys). Each
 * endpoint counts its consecutive failed attempts (kept by the statement that stores an attempt),
 * remembers the share of the disable threshold it has already reported as failing, and carries
 * its circuit: its own threshold and cool-down (null: the service defaults) and its state.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('endpoints', (t) => {
    t.text('kind').notNullable().defaultTo('standard');
    t.integer('consecutive_failures').notNullable().defaultTo(0);
    t.smallint('failing_alerted_percent').notNullable().defaultTo(0);
    t.integer('circuit_failure_threshold');
    t.integer('circuit_cooldown_seconds');
    t.text('circuit_state').notNullable().defaultTo('closed');
    t.timestamp('circuit_opened_at', { useTz: true });
    // Open: when the probe may go; half-open: when the probe's hold lapses (its worker may have died).
    t.timestamp('circuit_next_probe_at', { useTz: true });
  });
  await knex.raw("alter table endpoints add constraint endpoints_kind_check check (kind in ('standard', 'operational'))");
  await knex.raw("alter table endpoints add constraint endpoints_circuit_state_check check (circuit_state in ('closed', 'open', 'half_open'))");
  // The metrics' gauge of circuits counts the few that are not closed at each scrape.
  await knex.raw("create index endpoints_circuit_not_closed on endpoints (circuit_state) where circuit_state <> 'closed'");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists endpoints_circuit_not_closed');
  await knex.raw('alter table endpoints drop constraint if exists endpoints_circuit_state_check');
  await knex.raw('alter table endpoints drop constraint if exists endpoints_kind_check');
  await knex.schema.alterTable('endpoints', (t) =>
    t.dropColumns(
      'kind', 'consecutive_failures', 'failing_alerted_percent', 'circuit_failure_threshold', 'circuit_cooldown_seconds',
      'circuit_state', 'circuit_opened_at', 'circuit_next_probe_at',
    ),
  );
}
