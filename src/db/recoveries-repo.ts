import type { RecoveryCursor, RecoveryProgress, RecoveryState } from '../domain/recovery';
import type { RetryConfig } from '../domain/retry-config';
import { AppError, NotFoundError } from '../errors';
import { isUniqueViolation, type Db } from './knex';

/** One recovery as stored: its window, its state and the progress its workflow noted. */
export interface RecoveryRecord extends RecoveryProgress {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  workflow_id: string;
  since: Date;
  until: Date;
  state: RecoveryState;
  reason: string | null;
  delivered: number;
  requested_by: string;
  cancel_requested_at: Date | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

const COLUMNS = [
  'id', 'tenant_id', 'endpoint_id', 'workflow_id', 'since', 'until', 'state', 'reason', 'found', 'redelivered', 'skipped', 'delivered',
  'requested_by', 'cancel_requested_at', 'created_at', 'updated_at', 'finished_at',
] as const;

/** Another recovery of the endpoint runs (the partial unique index allows one). */
export const recoveryRunning = (endpointId: string, runningId?: string) =>
  new AppError(409, 'recovery_running', `a recovery of endpoint ${endpointId} is already running${runningId ? ` (${runningId})` : ''}; wait for it or cancel it`);

/** Stores a new running recovery; 409 `recovery_running` when the endpoint has one running. */
export async function insertRecovery(
  db: Db,
  row: Pick<RecoveryRecord, 'id' | 'tenant_id' | 'endpoint_id' | 'workflow_id' | 'since' | 'until' | 'requested_by'>,
): Promise<RecoveryRecord> {
  try {
    const [created] = await db('recoveries').insert(row).returning(COLUMNS);
    return created as RecoveryRecord;
  } catch (err) {
    if (isUniqueViolation(err) && String((err as { constraint?: unknown }).constraint ?? '').includes('one_running')) throw recoveryRunning(row.endpoint_id);
    throw err;
  }
}

/** The endpoint's running recovery, if any. */
export async function runningRecovery(db: Db, tenantId: string, endpointId: string): Promise<RecoveryRecord | null> {
  const row = await db('recoveries').select(COLUMNS).where({ tenant_id: tenantId, endpoint_id: endpointId, state: 'running' }).first();
  return (row as RecoveryRecord | undefined) ?? null;
}

export async function getRecovery(db: Db, tenantId: string, endpointId: string, id: string): Promise<RecoveryRecord> {
  const row = await db('recoveries').select(COLUMNS).where({ tenant_id: tenantId, endpoint_id: endpointId, id }).first();
  if (!row) throw new NotFoundError('recovery', id);
  return row as RecoveryRecord;
}

/** The endpoint's recoveries, newest first, with their total. */
export async function listRecoveries(db: Db, tenantId: string, endpointId: string, page: { limit: number; offset: number }): Promise<{ items: RecoveryRecord[]; total: number }> {
  const base = () => db('recoveries').where({ tenant_id: tenantId, endpoint_id: endpointId });
  const [items, total] = await Promise.all([
    base().select(COLUMNS).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).offset(page.offset),
    base().count<{ n: string }[]>({ n: '*' }).first(),
  ]);
  return { items: items as RecoveryRecord[], total: Number(total?.n ?? 0) };
}

/** The progress the recovery's workflow got to (only while it runs: a finished one keeps its counts). */
export async function noteRecoveryProgress(db: Db, id: string, progress: RecoveryProgress): Promise<void> {
  await db('recoveries').where({ id, state: 'running' }).update({ ...progress, updated_at: db.fn.now() });
}

/** The recovery ended: completed, cancelled, or failed (with the reason). Idempotent. */
export async function finishRecovery(db: Db, id: string, state: Exclude<RecoveryState, 'running'>, progress: RecoveryProgress | null, reason: string | null): Promise<void> {
  await db('recoveries')
    .where({ id, state: 'running' })
    .update({ ...(progress ?? {}), state, reason, finished_at: db.fn.now(), updated_at: db.fn.now() });
}

export async function markRecoveryCancelRequested(db: Db, id: string): Promise<void> {
  await db('recoveries').where({ id, state: 'running' }).whereNull('cancel_requested_at').update({ cancel_requested_at: db.fn.now(), updated_at: db.fn.now() });
}

/** A redelivery this recovery started succeeded. */
export async function countRecoveredDelivery(db: Db, tenantId: string, id: string): Promise<void> {
  await db('recoveries').where({ tenant_id: tenantId, id }).increment('delivered', 1);
}

/** A delivery whose latest recorded attempt left it failed: a dead letter. */
const FAILED = `(select a.delivery_status from attempts a where a.delivery_id = d.id order by a.attempt desc limit 1) = 'failed'`;

/** The window a recovery reads, `[since, until)` by the deliveries' creation time. */
export interface RecoveryWindow {
  tenantId: string;
  endpointId: string;
  since: string;
  until: string;
}

/** How many of the endpoint's deliveries created in the window failed. */
export async function countFailedDeliveries(db: Db, w: RecoveryWindow): Promise<number> {
  const row = await db('deliveries as d')
    .where({ 'd.tenant_id': w.tenantId, 'd.endpoint_id': w.endpointId })
    .andWhere('d.created_at', '>=', w.since)
    .andWhere('d.created_at', '<', w.until)
    .andWhereRaw(FAILED)
    .count<{ n: string }[]>({ n: '*' })
    .first();
  return Number(row?.n ?? 0);
}


export interface FailedDelivery {
  deliveryId: string;
  eventId: string;
  eventType: string;
  sequence: number | null;
  /** The number its next attempt takes: attempts continue after the ones it made. */
  nextAttempt: number;
}

export interface FailedPage {
  /** Null when the endpoint is gone (its tenant removed). */
  endpoint: { url: string; retryConfig: RetryConfig | null; isActive: boolean; deleted: boolean; fifo: boolean; blockedOn: string | null; rateLimit: number | null } | null;
  items: FailedDelivery[];
  /** Where the next page starts; null when this page was the last. */
  next: RecoveryCursor;
}

/**
 * A page of the endpoint's failed deliveries in the window, after the cursor: in creation order
 * (keyset on creation time and id), or in line order for a FIFO endpoint (keyset on sequence).
 * The cursor moves over every delivery read, failed or not, so each page costs one index walk.
 */
export async function failedDeliveryPage(db: Db, w: RecoveryWindow, after: RecoveryCursor, limit: number): Promise<FailedPage> {
  const ep = await db('endpoints')
    .where({ tenant_id: w.tenantId, id: w.endpointId })
    .first('url', 'retry_config', 'is_active', 'deleted_at', 'ordering', 'fifo_blocked_delivery_id', 'rate_limit');
  if (!ep) return { endpoint: null, items: [], next: null };
  const fifo = ep.ordering === 'fifo';
  const q = db('deliveries as d')
    .join('events as e', 'e.id', 'd.event_id')
    .where({ 'd.tenant_id': w.tenantId, 'd.endpoint_id': w.endpointId })
    .andWhere('d.created_at', '>=', w.since)
    .andWhere('d.created_at', '<', w.until)
    .select(
      'd.id',
      'd.event_id',
      'e.type',
      'd.sequence',
      db.raw(`to_char(d.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_key`),
      db.raw(`${FAILED} as failed`),
      db.raw('(select max(a.attempt) from attempts a where a.delivery_id = d.id) as last_attempt'),
    )
    .limit(limit);
  if (fifo) {
    q.whereNotNull('d.sequence').orderBy('d.sequence');
    if (after && 'sequence' in after) q.andWhere('d.sequence', '>', after.sequence);
  } else {
    q.orderBy('d.created_at').orderBy('d.id');
    if (after && 'createdAt' in after) q.andWhereRaw('(d.created_at, d.id) > (?::timestamptz, ?)', [after.createdAt, after.id]);
  }
  const rows: Array<{ id: string; event_id: string; type: string; sequence: string | number | null; created_key: string; failed: boolean | null; last_attempt: string | number | null }> = await q;
  const last = rows.at(-1);
  return {
    endpoint: {
      url: ep.url as string,
      retryConfig: (ep.retry_config ?? null) as RetryConfig | null,
      isActive: Boolean(ep.is_active),
      deleted: ep.deleted_at !== null,
      fifo,
      blockedOn: (ep.fifo_blocked_delivery_id as string | null) ?? null,
      rateLimit: ep.rate_limit === null || ep.rate_limit === undefined ? null : Number(ep.rate_limit),
    },
    items: rows
      .filter((r) => r.failed === true)
      .map((r) => ({
        deliveryId: r.id,
        eventId: r.event_id,
        eventType: r.type,
        sequence: r.sequence === null ? null : Number(r.sequence),
        nextAttempt: Number(r.last_attempt ?? 0) + 1,
      })),
    next: rows.length < limit || !last ? null : fifo ? { sequence: Number(last.sequence) } : { createdAt: last.created_key, id: last.id },
  };
}
