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

/** Delivery figures of one endpoint, computed from recorded attempts. */
export async function deliveryStats(db: Db, tenantId: string, endpointId: string): Promise<DeliveryStats> {
  const scope = { tenant_id: tenantId, endpoint_id: endpointId };
  const [deliveries, attempts, finished, last] = await Promise.all([
    db('deliveries').where(scope).count<{ n: string }[]>({ n: '*' }).first(),
    db('attempts')
      .where(scope)
      .select(db.raw('count(*) as attempts'), db.raw('avg(duration_ms) filter (where response_status is not null) as avg_ms'))
      .first(),
    db.from(latestAttempts(db, tenantId, [endpointId])).select(FINISHED_COUNTS.map((c) => db.raw(c))).first(),
    db('attempts').where(scope).whereNotNull('response_status').orderBy('started_at', 'desc').select('duration_ms').first(),
  ]);
  const succeeded = Number(finished?.ok ?? 0);
  const failed = Number(finished?.failed ?? 0);
  const avg = num(attempts?.avg_ms);
  return {
    total_deliveries: Number(deliveries?.n ?? 0),
    successful_deliveries: succeeded,
    failed_deliveries: failed,
    success_rate: rate(succeeded, succeeded + failed),
    total_attempts: Number(attempts?.attempts ?? 0),
    avg_response_time: avg === null ? null : Math.round(avg),
    last_response_time: num(last?.duration_ms),
  };
}

/** Counts per endpoint of deliveries that finished, for list rows and the summary. */
export async function successCounts(db: Db, tenantId: string, endpointIds: string[]): Promise<Map<string, { ok: number; failed: number }>> {
  const rows: Array<{ endpoint_id: string; ok: string; failed: string }> = await db
    .from(latestAttempts(db, tenantId, endpointIds))
    .groupBy('endpoint_id')
    .select('endpoint_id', ...FINISHED_COUNTS.map((c) => db.raw(c)));
  return new Map(rows.map((r) => [r.endpoint_id, { ok: Number(r.ok), failed: Number(r.failed) }]));
}

/** The list summary: endpoints, active ones, events sent, average success rate. */
export async function endpointSummary(db: Db, tenantId: string) {
  const [endpoints, events, rates] = await Promise.all([
    db('endpoints')
      .where({ tenant_id: tenantId })
      .whereNull('deleted_at')
      .select(db.raw('count(*) as total'), db.raw('count(*) filter (where is_active) as active'))
      .first(),
    db('events').where({ tenant_id: tenantId }).count<{ n: string }[]>({ n: '*' }).first(),
    db.from(latestAttempts(db, tenantId)).groupBy('endpoint_id').select(FINISHED_COUNTS.map((c) => db.raw(c))),
  ]);
  const perEndpoint = (rates as Array<{ ok: string; failed: string }>)
    .map((r) => rate(Number(r.ok), Number(r.ok) + Number(r.failed)))
    .filter((r): r is number => r !== null);
  return {
    total_endpoints: Number(endpoints?.total ?? 0),
    active_endpoints: Number(endpoints?.active ?? 0),
    total_events: Number(events?.n ?? 0),
    avg_success_rate: perEndpoint.length === 0 ? null : Math.round((perEndpoint.reduce((a, b) => a + b, 0) / perEndpoint.length) * 10) / 10,
  };
}

export { rate as successRate };
