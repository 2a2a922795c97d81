import type { Knex } from 'knex';

/**
 * FIFO endpoints: an endpoint may take its deliveries in ingest order, one at a time. Each of its
 * deliveries gets the next number of the endpoint's sequence when it is stored; a sequencer
 * workflow per endpoint starts them in that order and notes how far it got.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('endpoints', (t) => {
    t.text('ordering').notNullable().defaultTo('unordered');
    // What the line does when its head does not deliver (dead letter, or cancelled): move on or wait.
    t.text('on_exhausted').notNullable().defaultTo('skip');
    t.bigInteger('fifo_last_sequence').notNullable().defaultTo(0);
    // The line's progress: every delivery up to this number is done (delivered, or skipped).
    t.bigInteger('fifo_done_sequence').notNullable().defaultTo(0);
    // The head the line waits on (on_exhausted = block), null while it moves.
    t.text('fifo_blocked_delivery_id');
  });
  await knex.raw("alter table endpoints add constraint endpoints_ordering_check check (ordering in ('unordered', 'fifo'))");
  await knex.raw("alter table endpoints add constraint endpoints_on_exhausted_check check (on_exhausted in ('skip', 'block'))");
  await knex.schema.alterTable('deliveries', (t) => {
    // The delivery's place in its FIFO endpoint's line; null for unordered deliveries.
    t.bigInteger('sequence');
  });
  await knex.raw('create unique index deliveries_endpoint_sequence on deliveries (endpoint_id, sequence) where sequence is not null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists deliveries_endpoint_sequence');
  await knex.schema.alterTable('deliveries', (t) => t.dropColumn('sequence'));
  await knex.raw('alter table endpoints drop constraint if exists endpoints_on_exhausted_check');
  await knex.raw('alter table endpoints drop constraint if exists endpoints_ordering_check');
  await knex.schema.alterTable('endpoints', (t) => t.dropColumns('ordering', 'on_exhausted', 'fifo_last_sequence', 'fifo_done_sequence', 'fifo_blocked_delivery_id'));
}
