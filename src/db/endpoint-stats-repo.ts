import type { Db } from './knex';

export interface DeliveryStats {
  total_deliveries: number;
  successful_deliveries: number;
  failed_deliveries: number;
  success_rate: number | null;
  total_attempts: number;
  avg_response_time: number | null;
  last_response_time: number | null;
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const rate = (ok: number, done: number) => (done === 0 ? null : Math.round((ok / done) * 1000) / 10);

/** Attempts started at or after `since` and before `until`. */
export interface TimeRange {
  since: Date;
  until: Date;
}

/**
 * Each delivery's latest recorded attempt, whose `delivery_status` is the delivery's status: a
 * failed delivery that a redelivery brought through counts as succeeded, once. With a `range`,
 * only attempts started within it are considered.
 */
export function latestAttempts(db: Db, tenantId: string, endpointIds?: string[], range?: TimeRange) {
  const q = db('attempts').distinctOn('delivery_id').select('endpoint_id', 'delivery_id', 'event_id', 'delivery_status').where({ tenant_id: tenantId });
  if (endpointIds) q.whereIn('endpoint_id', endpointIds);
  if (range) q.where('started_at', '>=', range.since.toISOString()).where('started_at', '<', range.until.toISOString());
  return q
    .orderBy([{ column: 'delivery_id' }, { column: 'attempt', order: 'desc' }])
    .as('latest');
}

/** Deliveries that finished, by their latest attempt: `ok` succeeded, `failed` failed. */
export const FINISHED_COUNTS = [
  "count(*) filter (where delivery_status = 'succeeded') as ok",
  "count(*) filter (where delivery_status = 'failed') as failed",
];

/**
 * An endpoint's running attempt counts: what its row kept before migration 022 plus what its
 * attempts added to their shard rows since (see `storeAttempt`); the last response time is the
 * latest shard's, or the row's when no attempt since has had an answer.
 */
const COUNTS = `select e.id, e.is_active,
         e.deliveries_succeeded + coalesce(s.succeeded, 0) as deliveries_succeeded,
         e.deliveries_failed + coalesce(s.failed, 0) as deliveries_failed,
         e.attempts_total + coalesce(s.attempts, 0) as attempts_total,
         e.responses_total + coalesce(s.responses, 0) as responses_total,
         e.response_ms_total + coalesce(s.response_ms, 0) as response_ms_total,
         coalesce((select c.last_response_ms from endpoint_attempt_counts c
                    where c.endpoint_id = e.id and c.last_response_at is not null
                    order by c.last_response_at desc limit 1), e.last_response_ms) as last_response_ms
    from endpoints e
    left join lateral (
      select sum(succeeded) as succeeded, sum(failed) as failed, sum(attempts) as attempts,
             sum(responses) as responses, sum(response_ms) as response_ms
        from endpoint_attempt_counts c where c.endpoint_id = e.id
    ) s on true`;

/** Delivery figures of one endpoint, all from running counts (migrations 020 and 022). */
export async function deliveryStats(db: Db, tenantId: string, endpointId: string): Promise<DeliveryStats> {
  const scope = { tenant_id: tenantId, endpoint_id: endpointId };
  const [deliveries, counted] = await Promise.all([
    db('endpoint_delivery_counts').where(scope).sum<{ n: string | null }[]>({ n: 'deliveries' }).first(),
    db.raw(`${COUNTS} where e.tenant_id = ? and e.id = ?`, [tenantId, endpointId]),
  ]);
  const counts = (counted as { rows: Array<Record<string, string | number | null>> }).rows[0];
  const succeeded = Number(counts?.deliveries_succeeded ?? 0);
  const failed = Number(counts?.deliveries_failed ?? 0);
  const responses = Number(counts?.responses_total ?? 0);
  return {
    total_deliveries: Number(deliveries?.n ?? 0),
    successful_deliveries: succeeded,
    failed_deliveries: failed,
    success_rate: rate(succeeded, succeeded + failed),
    total_attempts: Number(counts?.attempts_total ?? 0),
    avg_response_time: responses === 0 ? null : Math.round(Number(counts?.response_ms_total ?? 0) / responses),
    last_response_time: num(counts?.last_response_ms),
  };
}

/** Finished deliveries per endpoint (by their latest attempt), read from the endpoint rows. */
export async function successCounts(db: Db, tenantId: string, endpointIds: string[]): Promise<Map<string, { ok: number; failed: number }>> {
  if (endpointIds.length === 0) return new Map();
  const result = await db.raw(`${COUNTS} where e.tenant_id = ? and e.id = any(?)`, [tenantId, endpointIds]);
  const rows = (result as { rows: Array<{ id: string; deliveries_succeeded: string; deliveries_failed: string }> }).rows;
  return new Map(rows.map((r) => [r.id, { ok: Number(r.deliveries_succeeded), failed: Number(r.deliveries_failed) }]));
}

/**
 * The list summary: endpoints, active ones, events sent, and the average success rate of the
 * live endpoints that finished a delivery. One aggregate over the tenant's endpoint rows, and the
 * event count from the tenant's running count (see migration 020).
 */
export async function endpointSummary(db: Db, tenantId: string) {
  const [endpoints, events] = await Promise.all([
    db
      .raw(
        `select count(*) as total, count(*) filter (where is_active) as active,
                avg(100.0 * deliveries_succeeded / (deliveries_succeeded + deliveries_failed))
                  filter (where deliveries_succeeded + deliveries_failed > 0) as avg_rate
           from (${COUNTS} where e.tenant_id = ? and e.deleted_at is null) counted`,
        [tenantId],
      )
      .then((r: { rows: Array<Record<string, string | null>> }) => r.rows[0]),
    db('tenant_event_counts').where({ tenant_id: tenantId }).sum<{ n: string | null }[]>({ n: 'events' }).first(),
  ]);
  const avg = num(endpoints?.avg_rate);
  return {
    total_endpoints: Number(endpoints?.total ?? 0),
    active_endpoints: Number(endpoints?.active ?? 0),
    total_events: Number(events?.n ?? 0),
    avg_success_rate: avg === null ? null : Math.round(avg * 10) / 10,
  };
}

export { rate as successRate };
