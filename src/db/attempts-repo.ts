import type { Db } from './knex';

/** One delivery attempt as recorded for telemetry and aggregates. */
export interface AttemptRow {
  tenant_id: string;
  delivery_id: string;
  endpoint_id: string;
  event_id: string;
  attempt: number;
  outcome: string;
  started_at: Date;
  duration_ms: number;
  response_status: number | null;
  error_class: string | null;
  error_message: string | null;
  response_excerpt: string | null;
  delivery_status: string;
}

/** Idempotent: a retried recording of the same attempt keeps the first row. */
export async function insertAttempt(db: Db, row: AttemptRow): Promise<void> {
  await db('attempts').insert(row).onConflict(['delivery_id', 'attempt']).ignore();
}

/** The highest attempt number recorded for a delivery, 0 when none was. */
export async function lastAttemptNumber(db: Db, tenantId: string, deliveryId: string): Promise<number> {
  const row = await db('attempts').where({ tenant_id: tenantId, delivery_id: deliveryId }).max<{ n: number | null }>('attempt as n').first();
  return Number(row?.n ?? 0);
}

/**
 * The delivery's state as each recorded attempt of it left it (`retrying`, `succeeded`,
 * `failed`), by attempt number: the verdict beside each attempt's own outcome.
 */
export async function attemptVerdicts(db: Db, tenantId: string, deliveryId: string): Promise<Map<number, string | null>> {
  const rows: Array<{ attempt: number; delivery_status: string | null }> = await db('attempts')
    .select('attempt', 'delivery_status')
    .where({ tenant_id: tenantId, delivery_id: deliveryId });
  return new Map(rows.map((r) => [Number(r.attempt), r.delivery_status]));
}

/**
 * An attempt as the live stream shows it: no response excerpt or error message (a receiver's
 * words may carry anything), plus the event's type for filtering. `id` is the bigint row id as a
 * decimal string (pg returns bigint as a string, PGlite as a number).
 */
export interface StreamedAttemptRow {
  id: string;
  tenant_id: string;
  delivery_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  outcome: string;
  response_status: number | null;
  error_class: string | null;
  duration_ms: number;
  started_at: Date;
  delivery_status: string | null;
}

/** Conditions a stream subscriber can put on the attempts it reads. */
export interface AttemptStreamFilter {
  endpointId?: string;
  eventType?: string;
  deliveryStatus?: string;
}

const STREAMED_COLUMNS = [
  'a.id', 'a.tenant_id', 'a.delivery_id', 'a.endpoint_id', 'a.event_id', 'e.type as event_type', 'a.attempt', 'a.outcome',
  'a.response_status', 'a.error_class', 'a.duration_ms', 'a.started_at', 'a.delivery_status',
];

function streamedAttempts(db: Db, afterId: bigint, limit: number) {
  return db('attempts as a')
    .join('events as e', 'e.id', 'a.event_id')
    .select(STREAMED_COLUMNS)
    .where('a.id', '>', afterId.toString())
    .orderBy('a.id', 'asc')
    .limit(limit);
}

const normalized = (rows: Array<StreamedAttemptRow & { id: string | number }>): StreamedAttemptRow[] =>
  rows.map((r) => ({ ...r, id: String(r.id), started_at: new Date(r.started_at) }));

/** Every tenant's attempts with an id above `afterId`, oldest first: what the stream poller reads. */
export async function attemptsAfter(db: Db, afterId: bigint, limit: number): Promise<StreamedAttemptRow[]> {
  return normalized(await streamedAttempts(db, afterId, limit));
}

/** One tenant's attempts above `afterId` that pass `filter`, oldest first: a stream's replay. */
export async function tenantAttemptsAfter(db: Db, tenantId: string, afterId: bigint, filter: AttemptStreamFilter, limit: number): Promise<StreamedAttemptRow[]> {
  const q = streamedAttempts(db, afterId, limit).andWhere('a.tenant_id', tenantId);
  if (filter.endpointId) q.andWhere('a.endpoint_id', filter.endpointId);
  if (filter.eventType) q.andWhere('e.type', filter.eventType);
  if (filter.deliveryStatus) q.andWhere('a.delivery_status', filter.deliveryStatus);
  return normalized(await q);
}

/** The highest attempt id recorded (0 when none): where a stream without a resume point starts. */
export async function latestAttemptId(db: Db): Promise<bigint> {
  const row = await db('attempts').max<{ n: string | number | null }>('id as n').first();
  return BigInt(row?.n ?? 0);
}
