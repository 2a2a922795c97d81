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
