import type { Knex } from 'knex';

/**
 * Running counts on each endpoint, kept by the statement that records an attempt, so lists and
 * summaries read one row per endpoint instead of scanning attempts. Filled from the attempts
 * already recorded.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('endpoints', (t) => {
    // Deliveries whose latest attempt left them succeeded / failed (a redelivery moves one across).
    t.bigInteger('deliveries_succeeded').notNullable().defaultTo(0);
    t.bigInteger('deliveries_failed').notNullable().defaultTo(0);
    t.bigInteger('attempts_total').notNullable().defaultTo(0);
    // Attempts that got an answer, and their summed duration: the average response time.
    t.bigInteger('responses_total').notNullable().defaultTo(0);
    t.bigInteger('response_ms_total').notNullable().defaultTo(0);
    t.integer('last_response_ms');
  });
  await knex.raw(`
    update endpoints e
       set deliveries_succeeded = c.ok, deliveries_failed = c.failed
      from (select endpoint_id,
                   count(*) filter (where delivery_status = 'succeeded') as ok,
                   count(*) filter (where delivery_status = 'failed') as failed
              from (select distinct on (delivery_id) endpoint_id, delivery_status
                      from attempts order by delivery_id, attempt desc) latest
             group by endpoint_id) c
     where e.id = c.endpoint_id`);
  await knex.raw(`
    update endpoints e
       set attempts_total = c.attempts, responses_total = c.responses, response_ms_total = c.ms
      from (select endpoint_id, count(*) as attempts, count(response_status) as responses,
                   coalesce(sum(duration_ms) filter (where response_status is not null), 0) as ms
              from attempts group by endpoint_id) c
     where e.id = c.endpoint_id`);
  await knex.raw(`
    update endpoints e
       set last_response_ms = c.duration_ms
      from (select distinct on (endpoint_id) endpoint_id, duration_ms
              from attempts where response_status is not null
             order by endpoint_id, started_at desc) c
     where e.id = c.endpoint_id`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('endpoints', (t) => {
    t.dropColumns('deliveries_succeeded', 'deliveries_failed', 'attempts_total', 'responses_total', 'response_ms_total', 'last_response_ms');
  });
}
