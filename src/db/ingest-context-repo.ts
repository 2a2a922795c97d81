import type { EndpointRecord } from './endpoints-repo';
import { subscribedEndpoints } from './endpoints-repo';
import { EVENT_TYPE_COLUMNS, type EventTypeRecord } from './event-types-repo';
import { hotQuery, type Db } from './knex';
import { DEFAULT_SETTINGS, type TenantSettings } from './tenants-repo';

/** An endpoint as ingest needs it: who it is, its filters, and what a delivery's run shows of it. */
export type SubscribedEndpoint = Pick<EndpointRecord, 'id' | 'url' | 'filters' | 'retry_config'>;

/**
 * Everything ingest reads before it stores an event, in one statement: the tenant's live event
 * type of that name (null when it is not in the catalog), whether the tenant accepts untyped
 * events, and, with `endpoints`, the endpoints subscribed to the type ({@link subscribedEndpoints}),
 * in id order (their filters are applied by the caller).
 */
export async function loadIngestContext(
  db: Db,
  tenantId: string,
  eventType: string,
  options: { endpoints: boolean },
): Promise<{ eventType: EventTypeRecord | null; allowUntyped: boolean; endpoints: SubscribedEndpoint[] }> {
  const type = db('event_types').select(EVENT_TYPE_COLUMNS).where({ tenant_id: tenantId, name: eventType }).whereNull('deleted_at').limit(1);
  const endpoints = subscribedEndpoints(db, tenantId, eventType).select('id', 'url', 'filters', 'retry_config');
  const context = db('tenants as t')
    .select('t.settings')
    .select(db.raw('(select row_to_json(et) from ? as et) as event_type', [type]))
    .select(options.endpoints ? db.raw("(select coalesce(json_agg(e order by e.id), '[]'::json) from ? as e) as endpoints", [endpoints]) : db.raw("'[]'::json as endpoints"))
    .where('t.id', tenantId)
    .limit(1);
  const { rows } = (await hotQuery(db, context)) as { rows: Array<{ settings: Partial<TenantSettings> | null; event_type: EventTypeRecord | null; endpoints: SubscribedEndpoint[] }> };
  const row = rows[0];
  return {
    eventType: row?.event_type ?? null,
    allowUntyped: { ...DEFAULT_SETTINGS, ...(row?.settings ?? {}) }.allow_untyped_events,
    endpoints: row?.endpoints ?? [],
  };
}
