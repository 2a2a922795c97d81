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
