import { getEventBody } from '../src/db/events-repo';
import type { Db } from '../src/db/knex';

/**
 * Bodies never change once stored, so a worker keeps the ones in use: an event's deliveries to
 * its other endpoints (a fan-out of thousands reads one body thousands of times within minutes)
 * and its early retries. A body is only bytes saved, never a statement: a delivery without it
 * reads it in the statement that loads its endpoint.
 */
const MAX_BYTES = 32 * 1024 * 1024;
/** A body larger than this share of the cache is read each time rather than evicting many. */
const MAX_ENTRY_BYTES = MAX_BYTES / 64;
/**
 * A body no delivery asked for in this long is dropped, so a worker's heap holds the bodies in
 * use, not the last 32 MB of bodies it ever sent (about 43 MB of heap with 600-byte bodies,
 * kept for good once a worker had sent some 55,000 events).
 */
export const BODY_IDLE_MS = 60_000;

interface Held {
  body: string;
  usedAt: number;
}

/** In order of last use, the least recently used first. */
const cache = new Map<string, Held>();
let cachedBytes = 0;
let sweeper: NodeJS.Timeout | null = null;

const keyOf = (tenantId: string, eventId: string) => `${tenantId}/${eventId}`;

/** Drops bodies idle for {@link BODY_IDLE_MS}, and while over {@link MAX_BYTES} the least recently used. */
function trim(now: number): void {
  for (const [key, held] of cache) {
    if (cachedBytes <= MAX_BYTES && now - held.usedAt < BODY_IDLE_MS) break;
    cache.delete(key);
    cachedBytes -= held.body.length;
  }
  if (cache.size === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = null;
  }
}

/** The body when this worker holds it, else undefined (the caller reads it and remembers it). */
export function cachedEventBody(tenantId: string, eventId: string, now = Date.now()): string | undefined {
  const key = keyOf(tenantId, eventId);
  const held = cache.get(key);
  if (held === undefined) return undefined;
  if (now - held.usedAt >= BODY_IDLE_MS) {
    trim(now);
    return undefined;
  }
  // Used again: to the back of the line.
  cache.delete(key);
  held.usedAt = now;
  cache.set(key, held);
  return held.body;
}

/** Keeps a body for later attempts and other endpoints of the same event. */
export function rememberEventBody(tenantId: string, eventId: string, body: string, now = Date.now()): void {
  if (body.length > MAX_ENTRY_BYTES) return;
  const key = keyOf(tenantId, eventId);
  if (cache.has(key)) return;
  cache.set(key, { body, usedAt: now });
  cachedBytes += body.length;
  trim(now);
  // An idle worker lets its bodies go too: nothing else would look at them.
  sweeper ??= setInterval(() => trim(Date.now()), BODY_IDLE_MS).unref();
}

/** The exact bytes to send for an event of the tenant, from the worker's cache when it has them. */
export async function eventBodyOf(db: Db, tenantId: string, eventId: string): Promise<string> {
  const cached = cachedEventBody(tenantId, eventId);
  if (cached !== undefined) return cached;
  const body = await getEventBody(db, tenantId, eventId);
  rememberEventBody(tenantId, eventId, body);
  return body;
}
