import { createHash } from 'node:crypto';
import type { EventIn } from '../api/schemas';
import { canonicalJson } from '../domain/canonical-json';
import { isOperationalEventType } from '../domain/operational-events';
import type { EndpointRecord } from '../db/endpoints-repo';
import { loadIngestContext, type SubscribedEndpoint } from '../db/ingest-context-repo';
import { getEventBody, insertEventWithDeliveries, markDispatchedSoon, type EventWithDeliveries, type NewDelivery } from '../db/events-repo';
import { AppError, UnavailableError } from '../errors';
import { newId } from '../ids';
import { deliveryWorkflowId, dispatchDeliveries, HANDOFF_BODY_MAX, INLINE_FAN_OUT_MAX } from '../temporal/delivery-workflows';
import { checkEventPayload } from './event-types';
import { matchesFilters } from './filters';
import type { AppDeps } from './deps';

export interface IngestOut {
  event_id: string;
  deliveries: Array<{ id: string; endpoint_id: string }>;
  duplicate: boolean;
}

/** The body receivers get, serialized once and stored: `{id, type, timestamp, lang?, data}`. */
export function eventBody(id: string, input: EventIn, at: Date): string {
  return JSON.stringify({ id, type: input.type, timestamp: at.toISOString(), lang: input.lang, data: input.payload });
}

/**
 * The fingerprint of an ingest request: SHA-256 of its type, payload and lang as canonical JSON
 * (key order does not matter). The idempotency key itself is not part of it.
 */
export function requestHash(input: Pick<EventIn, 'type' | 'payload' | 'lang'>): string {
  return createHash('sha256').update(canonicalJson({ type: input.type, payload: input.payload, lang: input.lang ?? null })).digest('hex');
}

/**
 * Refuses a reused idempotency key whose request differs from the one that created the event
 * (Stripe's rule). An event stored before fingerprints were kept is compared with its stored
 * body, which holds the same type, payload and lang.
 */
async function assertSameRequest(deps: AppDeps, stored: EventWithDeliveries, hash: string, key: string): Promise<void> {
  let storedHash = stored.requestHash;
  if (storedHash === null) {
    const body = JSON.parse(await getEventBody(deps.db, stored.event.tenant_id, stored.event.id)) as { type: string; data: EventIn['payload']; lang?: string };
    storedHash = requestHash({ type: body.type, payload: body.data, lang: body.lang });
  }
  if (storedHash !== hash) {
    throw new AppError(
      422,
      'idempotency_key_reused',
      `Idempotency-Key ${JSON.stringify(key)} was already used for event ${stored.event.id} with a different request (type, payload or lang); use a new key for a new event`,
    );
  }
}

/** One new delivery per endpoint: its id and its workflow's id, minted here and nowhere else. */
export function newDeliveries(eventId: string, endpointIds: readonly string[]): NewDelivery[] {
  return endpointIds.map((endpointId) => ({ id: newId('dlv'), endpointId, workflowId: deliveryWorkflowId(eventId, endpointId) }));
}

/**
 * What a client is told when its event is stored but Temporal refused the starts: the event will
 * be delivered (the outbox sweep starts it); sending it again is only safe with the same key.
 */
function unstartedMessage(eventId: string, idempotencyKey: string | null): string {
  const stored = `event ${eventId} is stored and will be delivered once Temporal is reachable again (Temporal is unavailable now)`;
  return idempotencyKey
    ? `${stored}; retrying with the same Idempotency-Key returns this event and sends nothing twice`
    : `${stored}; do not send it again: without an Idempotency-Key a retry would be a second event`;
}

/**
 * Accepts an event: stores it once with one delivery per subscribed endpoint, then starts their
 * workflows. A repeated idempotency key with the same request returns the stored event and starts
 * nothing new (unless its dispatch never completed, which is then finished); with a different
 * request it is refused (422 `idempotency_key_reused`). An event whose starts fail stays in the
 * outbox: the housekeeping sweep starts it (`dispatchStoredEvents`). With `only`, the event goes
 * to that endpoint alone (a test event).
 */
export async function ingestEvent(deps: AppDeps, tenantId: string, input: EventIn, only?: EndpointRecord): Promise<IngestOut> {
  if (isOperationalEventType(input.type)) {
    throw new AppError(422, 'reserved_event_type', `${input.type} is an operational event type: only the service sends it (to operational endpoints)`);
  }
  const storing = performance.now();
  // One statement: the type to check the payload against, and who subscribed. Where this API
  // starts deliveries eagerly on a worker (its own, or one it relays to), it reads what their
  // first attempts need too, and hands it to that worker with the starts.
  const handOffMax = deps.startDeliveries ? INLINE_FAN_OUT_MAX : 0;
  const context = await loadIngestContext(deps.db, tenantId, input.type, { endpoints: !only, handOffMax });
  checkEventPayload(tenantId, input.type, input.payload, context);
  const subscribed = only ? [only] : context.endpoints;
  const id = newId('evt');
  // A test event for one endpoint goes to it whatever its subscriptions and filters say.
  const matching = only ? subscribed : subscribed.filter((e) => matchesFilters(e.filters, input.payload));
  const endpointIds = matching.map((e) => e.id);
  const byId = new Map<string, SubscribedEndpoint>(matching.map((e) => [e.id, e]));
  const hash = requestHash(input);
  const body = eventBody(id, input, new Date());
  const stored = await insertEventWithDeliveries(
    deps.db,
    tenantId,
    { id, type: input.type, body, idempotencyKey: input.idempotency_key ?? null, requestHash: hash },
    newDeliveries(id, endpointIds),
  );
  deps.metrics.observeIngestPart('store', (performance.now() - storing) / 1000);
  if (!stored.created) await assertSameRequest(deps, stored, hash, input.idempotency_key!);
  deps.metrics.countIngestedEvent(stored.created ? 'created' : 'duplicate');
  const { event, deliveries } = stored;
  if (!event.dispatched_at && deliveries.length > 0) {
    const starting = performance.now();
    // The body this request stored (not a duplicate's), when small enough to hand over.
    const handedBody = stored.created && Buffer.byteLength(body) <= HANDOFF_BODY_MAX ? body : undefined;
    try {
      const { started, eager } = await dispatchDeliveries(
        deps.temporal,
        deps.config.TEMPORAL_TASK_QUEUE,
        { tenantId: event.tenant_id, eventId: event.id, eventType: event.type },
        deliveries.map((d) => {
          const endpoint = byId.get(d.endpoint_id);
          const handoff = endpoint?.attempt ? { attempt: endpoint.attempt, ...(handedBody === undefined ? {} : { body: handedBody }) } : undefined;
          return { deliveryId: d.id, endpointId: d.endpoint_id, endpoint: endpoint && { url: endpoint.url, retryConfig: endpoint.retry_config }, sequence: d.sequence, handoff };
        }),
        deps.startDeliveries ?? undefined,
      );
      deps.metrics.countDeliveryStarts(started, eager);
      deps.metrics.observeIngestPart('starts', (performance.now() - starting) / 1000);
    } catch (err) {
      deps.log.error({ err, eventId: event.id }, 'could not start delivery workflows');
      throw new UnavailableError(unstartedMessage(event.id, event.idempotency_key));
    }
    // The answer does not wait for the outbox mark, which shares one statement with the marks of
    // the next 100 ms: left unmarked (this process died, the database refused), the event is
    // dispatched again by the sweep, which finds its deliveries started.
    markDispatchedSoon(deps.db, event.id, (err, eventIds) =>
      deps.log.warn({ err, eventIds }, 'could not mark events dispatched; the outbox sweep will find their deliveries started'),
    );
  }
  return {
    event_id: event.id,
    deliveries: deliveries.map((d) => ({ id: d.id, endpoint_id: d.endpoint_id })),
    duplicate: !stored.created,
  };
}
