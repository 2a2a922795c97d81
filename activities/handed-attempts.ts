import type { SealedAttempt } from '../src/db/attempt-context-repo';
import { rememberEventBody } from './event-bodies';

/**
 * What ingest handed this worker for the first attempts of the deliveries it starts eagerly (the
 * endpoint as ingest read it, sealed), held until the delivery's first attempt step takes it:
 * that step then sends without reading its endpoint again. An event's handed body joins the
 * worker's body cache.
 *
 * A handoff is taken once, whatever the step then does with it, and used only by a step the
 * workflow knows runs for the first time (`fresh`: the run's first workflow task, not a replay),
 * so a step run again reads the database, and finds there the attempt an earlier run stored.
 * One not taken within {@link HANDOFF_TTL_MS} (its first task went to another worker, say) is
 * dropped; past {@link MAX_HANDOFFS} held, new ones are not kept (their steps read the database).
 */
export const HANDOFF_TTL_MS = 5_000;
export const MAX_HANDOFFS = 10_000;

interface Held {
  tenantId: string;
  endpointId: string;
  attempt: SealedAttempt;
  at: number;
}

/** In order of arrival. */
const held = new Map<string, Held>();

function dropExpired(now: number): void {
  for (const [deliveryId, h] of held) {
    if (now - h.at < HANDOFF_TTL_MS) break;
    held.delete(deliveryId);
  }
}

/** Keeps what ingest read for `deliveryId`'s first attempt, and the event's body when handed. */
export function holdHandoff(
  delivery: { tenantId: string; deliveryId: string; eventId: string; endpointId: string },
  handoff: { attempt: SealedAttempt; body?: string },
  now = Date.now(),
): void {
  if (handoff.body !== undefined) rememberEventBody(delivery.tenantId, delivery.eventId, handoff.body, now);
  dropExpired(now);
  if (held.size >= MAX_HANDOFFS) return;
  held.set(delivery.deliveryId, { tenantId: delivery.tenantId, endpointId: delivery.endpointId, attempt: handoff.attempt, at: now });
}

/**
 * Takes (and forgets) what was handed for `deliveryId`'s first attempt, when it is still fresh and
 * for this tenant and endpoint; else undefined.
 */
export function takeHandoff(delivery: { tenantId: string; deliveryId: string; endpointId: string }, now = Date.now()): SealedAttempt | undefined {
  const h = held.get(delivery.deliveryId);
  if (h === undefined) return undefined;
  held.delete(delivery.deliveryId);
  if (now - h.at >= HANDOFF_TTL_MS || h.tenantId !== delivery.tenantId || h.endpointId !== delivery.endpointId) return undefined;
  return h.attempt;
}

/** How many handoffs are held (for tests). */
export function heldHandoffs(): number {
  return held.size;
}
