import type { OnExhausted } from '../domain/endpoint';
import type { RetryConfig } from '../domain/retry-config';
import type { Db } from './knex';

/** A FIFO endpoint's line as its sequencer reads it. */
export interface Line {
  /** `open`: deliveries may go; `paused`: the endpoint is switched off; `deleted`: they only stop. */
  state: 'open' | 'paused' | 'deleted';
  onExhausted: OnExhausted;
  endpoint: { url: string; retryConfig: RetryConfig | null };
  /** The next deliveries not yet done, in sequence order. */
  next: Array<{ deliveryId: string; eventId: string; eventType: string; sequence: number; nextAttempt: number }>;
}

/**
 * The next deliveries of an endpoint's line after the last one done (or after `afterSequence`,
 * when the sequencer has got further than it last noted), or null: no such endpoint.
 */
export async function readLine(db: Db, tenantId: string, endpointId: string, limit: number, afterSequence = 0): Promise<Line | null> {
  const endpoint = await db('endpoints')
    .where({ tenant_id: tenantId, id: endpointId })
    .first('url', 'retry_config', 'is_active', 'deleted_at', 'on_exhausted', 'fifo_done_sequence');
  if (!endpoint) return null;
  const rows: Array<{ id: string; event_id: string; type: string; sequence: string | number; last_attempt: string | number | null }> = await db('deliveries as d')
    .join('events as e', 'e.id', 'd.event_id')
    .where({ 'd.tenant_id': tenantId, 'd.endpoint_id': endpointId })
    .andWhere('d.sequence', '>', Math.max(Number(endpoint.fifo_done_sequence), afterSequence))
    .orderBy('d.sequence')
    .limit(limit)
    .select('d.id', 'd.event_id', 'e.type', 'd.sequence', db.raw('(select max(a.attempt) from attempts a where a.delivery_id = d.id) as last_attempt'));
  return {
    state: endpoint.deleted_at ? 'deleted' : endpoint.is_active ? 'open' : 'paused',
    onExhausted: endpoint.on_exhausted as OnExhausted,
    endpoint: { url: endpoint.url as string, retryConfig: (endpoint.retry_config ?? null) as RetryConfig | null },
    next: rows.map((r) => ({ deliveryId: r.id, eventId: r.event_id, eventType: r.type, sequence: Number(r.sequence), nextAttempt: Number(r.last_attempt ?? 0) + 1 })),
  };
}

/** The line moved past `sequence` (delivered, or skipped); it waits on nothing. */
export async function markDone(db: Db, tenantId: string, endpointId: string, sequence: number): Promise<void> {
  await db('endpoints')
    .where({ tenant_id: tenantId, id: endpointId })
    .update({ fifo_done_sequence: db.raw('greatest(fifo_done_sequence, ?)', [sequence]), fifo_blocked_delivery_id: null });
}

/** The line waits on `deliveryId` (or on nothing, with null) until it is redelivered or skipped. */
export async function markBlocked(db: Db, tenantId: string, endpointId: string, deliveryId: string | null): Promise<void> {
  await db('endpoints').where({ tenant_id: tenantId, id: endpointId }).update({ fifo_blocked_delivery_id: deliveryId });
}
