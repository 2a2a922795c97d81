import { activityInfo, Context } from '@temporalio/activity';
import { listSubscribedEndpoints } from '../src/db/endpoints-repo';
import { insertEventWithDeliveries, markDispatched } from '../src/db/events-repo';
import type { Db } from '../src/db/knex';
import type { OperationalEventType } from '../src/domain/operational-events';
import { newId } from '../src/ids';
import { deliveryWorkflowId, dispatchDeliveries } from '../src/temporal/delivery-workflows';
import type { ActivityDeps } from './deps';

/**
 * Idempotency keys of operational events start with a control character, which a tenant's key
 * may not hold: a tenant can neither take nor replay one.
 */
const KEY_PREFIX = '\u001eop:';

/** One operational event: its type, its data (no secrets) and what makes it unique (its idempotency key). */
export interface OperationalEvent {
  tenantId: string;
  type: OperationalEventType;
  data: Record<string, unknown>;
  /** Names this occurrence: emitting it again (a retried step) stores and sends nothing new. */
  key: string;
}

/** An operational event as stored, with what starting its deliveries needs. */
export interface StoredOperationalEvent {
  event: OperationalEvent;
  stored: Awaited<ReturnType<typeof insertEventWithDeliveries>>;
  endpoints: Awaited<ReturnType<typeof listSubscribedEndpoints>>;
}

/**
 * Stores an operational event (once, by its idempotency key) with one delivery per operational
 * endpoint subscribed to its type, without starting them; null when no operational endpoint
 * subscribes. On `db` or inside the caller's transaction, so the change it reports and the event
 * can commit together. Throws when it cannot store.
 */
export async function storeOperationalEvent(db: Db, event: OperationalEvent): Promise<StoredOperationalEvent | null> {
  const endpoints = await listSubscribedEndpoints(db, event.tenantId, event.type);
  if (endpoints.length === 0) return null;
  const id = newId('evt');
  const body = JSON.stringify({ id, type: event.type, timestamp: new Date().toISOString(), data: event.data });
  const stored = await insertEventWithDeliveries(
    db,
    event.tenantId,
    { id, type: event.type, body, idempotencyKey: KEY_PREFIX + event.key },
    endpoints.map((e) => ({ id: newId('dlv'), endpointId: e.id, workflowId: deliveryWorkflowId(id, e.id) })),
  );
  return { event, stored, endpoints };
}

/**
 * Counts a stored operational event and starts its deliveries, signed, retried and logged like any
 * other. One stored but not started is started by the outbox sweep, so a failed start is only logged.
 */
export async function startOperationalEvent({ db, log, metrics }: Pick<ActivityDeps, 'db' | 'log' | 'metrics'>, { event, stored, endpoints }: StoredOperationalEvent): Promise<void> {
  metrics.countOperationalEvent(event.type, stored.created ? 'created' : 'duplicate');
  if (stored.event.dispatched_at || stored.deliveries.length === 0) return;
  try {
    const byId = new Map(endpoints.map((e) => [e.id, { url: e.url, urlSensitive: e.url_sealed !== null, retryConfig: e.retry_config }]));
    await dispatchDeliveries(
      Context.current().client,
      activityInfo().taskQueue,
      { tenantId: event.tenantId, eventId: stored.event.id, eventType: event.type },
      stored.deliveries.map((d) => ({ deliveryId: d.id, endpointId: d.endpoint_id, endpoint: byId.get(d.endpoint_id), sequence: d.sequence })),
    );
    await markDispatched(db, stored.event.id);
    log.info({ tenantId: event.tenantId, eventId: stored.event.id, type: event.type, deliveries: stored.deliveries.length }, 'operational event');
  } catch (err) {
    log.warn({ err, tenantId: event.tenantId, eventId: stored.event.id, type: event.type }, 'could not start an operational event; the outbox sweep will');
  }
}

/**
 * Ingests an operational event for the tenant through the normal pipeline: stored
 * ({@link storeOperationalEvent}), then its deliveries started ({@link startOperationalEvent}).
 * An event that could not be stored is logged (what it reports already happened), unless
 * `throwIfNotStored`: then the caller's step fails, to be retried, which only helps an event whose
 * key the retry derives again.
 */
export async function emitOperationalEvent(
  deps: Pick<ActivityDeps, 'db' | 'log' | 'metrics'>,
  event: OperationalEvent,
  opts: { throwIfNotStored?: boolean } = {},
): Promise<void> {
  let stored: StoredOperationalEvent | null;
  try {
    stored = await storeOperationalEvent(deps.db, event);
  } catch (err) {
    deps.log.warn({ err, tenantId: event.tenantId, type: event.type }, 'could not store an operational event');
    if (opts.throwIfNotStored) throw err;
    return;
  }
  if (stored) await startOperationalEvent(deps, stored);
}
