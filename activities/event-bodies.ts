import { getEventBody } from '../src/db/events-repo';
import type { Db } from '../src/db/knex';

/** Bodies never change once stored, so a worker keeps recent ones (every attempt needs one). */
const MAX_BYTES = 32 * 1024 * 1024;
/** A body larger than this share of the cache is read each time rather than evicting many. */
const MAX_ENTRY_BYTES = MAX_BYTES / 64;

const cache = new Map<string, string>();
let cachedBytes = 0;

const keyOf = (tenantId: string, eventId: string) => `${tenantId}/${eventId}`;

/** The body when this worker holds it, else undefined (the caller reads it and remembers it). */
export function cachedEventBody(tenantId: string, eventId: string): string | undefined {
  return cache.get(keyOf(tenantId, eventId));
}

/** Keeps a body for later attempts and other endpoints of the same event, oldest out first. */
export function rememberEventBody(tenantId: string, eventId: string, body: string): void {
  if (body.length > MAX_ENTRY_BYTES) return;
  const key = keyOf(tenantId, eventId);
  if (cache.has(key)) return;
  cache.set(key, body);
  cachedBytes += body.length;
  for (const [oldest, value] of cache) {
    if (cachedBytes <= MAX_BYTES) break;
    cache.delete(oldest);
    cachedBytes -= value.length;
  }
}

/** The exact bytes to send for an event of the tenant, from the worker's cache when it has them. */
export async function eventBodyOf(db: Db, tenantId: string, eventId: string): Promise<string> {
  const cached = cachedEventBody(tenantId, eventId);
  if (cached !== undefined) return cached;
  const body = await getEventBody(db, tenantId, eventId);
  rememberEventBody(tenantId, eventId, body);
  return body;
}
