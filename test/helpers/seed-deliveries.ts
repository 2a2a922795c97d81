import type { Db } from '../../src/db/knex';
import { monotonicFactory } from 'ulid';
import { deliveryWorkflowId } from '../../src/temporal/delivery-workflows';

/** How a seeded delivery ended: its one recorded attempt's verdict (none: never attempted). */
export type SeededEnding = 'failed' | 'succeeded' | 'retrying' | 'none';

/**
 * Stores `count` deliveries of one endpoint directly, each with its event and (unless `none`)
 * one attempt that left it as `ending` says: what ingest and a first run would have left, without
 * the runs. A failed one is a dead letter as recoveries and the delivery log's rows read it.
 */
export async function seedDeliveries(
  db: Db,
  opts: { tenantId: string; endpointId: string; count: number; ending: SeededEnding; createdAt: Date; type?: string; firstSequence?: number; attemptAt?: Date },
): Promise<Array<{ deliveryId: string; eventId: string }>> {
  const type = opts.type ?? 'recovery.test';
  // Ids minted at the time the rows say they were created, as ingest would have.
  const ulid = monotonicFactory();
  const at = opts.createdAt.getTime();
  const rows = Array.from({ length: opts.count }, (_, i) => ({ eventId: `evt_${ulid(at).toLowerCase()}`, deliveryId: `dlv_${ulid(at).toLowerCase()}`, i }));
  for (let start = 0; start < rows.length; start += 500) {
    const chunk = rows.slice(start, start + 500);
    await db.transaction(async (trx) => {
      await trx('events').insert(
        chunk.map((r) => ({
          id: r.eventId,
          tenant_id: opts.tenantId,
          type,
          body: JSON.stringify({ id: r.eventId, type, timestamp: opts.createdAt.toISOString(), data: { i: r.i } }),
          created_at: opts.createdAt,
          dispatched_at: opts.createdAt,
        })),
      );
      await trx('deliveries').insert(
        chunk.map((r) => ({
          id: r.deliveryId,
          tenant_id: opts.tenantId,
          event_id: r.eventId,
          endpoint_id: opts.endpointId,
          workflow_id: deliveryWorkflowId(r.eventId, opts.endpointId),
          created_at: opts.createdAt,
          sequence: opts.firstSequence === undefined ? null : opts.firstSequence + r.i,
        })),
      );
      if (opts.ending === 'none') return;
      await trx('attempts').insert(
        chunk.map((r) => ({
          tenant_id: opts.tenantId,
          delivery_id: r.deliveryId,
          endpoint_id: opts.endpointId,
          event_id: r.eventId,
          attempt: 1,
          outcome: opts.ending === 'succeeded' ? 'succeeded' : 'retryable',
          started_at: opts.attemptAt ?? opts.createdAt,
          duration_ms: 5,
          response_status: opts.ending === 'succeeded' ? 200 : 503,
          error_class: opts.ending === 'succeeded' ? null : 'http_5xx',
          delivery_status: opts.ending,
        })),
      );
    });
  }
  return rows.map(({ deliveryId, eventId }) => ({ deliveryId, eventId }));
}
