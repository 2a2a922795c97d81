import type { Knex } from 'knex';

/**
 * The event outbox: events whose deliveries were never started (the API stopped between storing
 * and starting them, or Temporal was down) are found by the housekeeping sweep through a partial
 * index that holds only those. Events without deliveries have nothing to start: marked done.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `update events e set dispatched_at = e.created_at
      where e.dispatched_at is null and not exists (select 1 from deliveries d where d.event_id = e.id)`,
  );
  await knex.raw('create index events_undispatched_idx on events (created_at) where dispatched_at is null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists events_undispatched_idx');
}
