import { ATTEMPT_ENDPOINT_JSON, type SealedAttempt } from './attempt-context-repo';
import type { EndpointRecord } from './endpoints-repo';
import { SUBSCRIBED_ENDPOINT, subscribedBindings } from './endpoints-repo';
import { EVENT_TYPE_COLUMNS, type EventTypeRecord } from './event-types-repo';
import { hotStatement, type Db } from './knex';
import { DEFAULT_SETTINGS, type TenantSettings } from './tenants-repo';

/**
 * An endpoint as ingest needs it: who it is, its filters, and what a delivery's run shows of it;
 * with `attempt`, all its first attempt needs ({@link ATTEMPT_ENDPOINT_JSON}), for the worker that
 * starts the delivery: read when the event has at most `handOffMax` subscribers (more are started
 * by a fan-out workflow) and the endpoint's circuit is closed.
 */
export type SubscribedEndpoint = Pick<EndpointRecord, 'id' | 'url' | 'filters' | 'retry_config'> & { attempt?: SealedAttempt | null };

const contextStatement = (endpoints: string) => `
  select t.settings,
         (select row_to_json(et) from (
            select ${EVENT_TYPE_COLUMNS.map((c) => `"${c}"`).join(', ')} from event_types
             where tenant_id = ? and name = ? and deleted_at is null limit 1
         ) as et) as event_type,
         ${endpoints} as endpoints
    from tenants as t
   where t.id = ?
   limit 1`;
const WITH_ENDPOINTS = contextStatement(
  `(select coalesce(json_agg(e order by e.id), '[]'::json) from (
      select e.id, e.url, e.filters, e.retry_config,
             case when count(*) over () <= ? and e.circuit_state = 'closed' then ${ATTEMPT_ENDPOINT_JSON} end as attempt
        from endpoints e where ${SUBSCRIBED_ENDPOINT}
    ) as e)`,
);
const WITHOUT_ENDPOINTS = contextStatement(`'[]'::json`);

/**
 * Everything ingest reads before it stores an event, in one statement: the tenant's live event
 * type of that name (null when it is not in the catalog), whether the tenant accepts untyped
 * events, and, with `endpoints`, the endpoints subscribed to the type (`SUBSCRIBED_ENDPOINT`),
 * in id order (their filters are applied by the caller).
 */
export async function loadIngestContext(
  db: Db,
  tenantId: string,
  eventType: string,
  options: { endpoints: boolean; handOffMax?: number },
): Promise<{ eventType: EventTypeRecord | null; allowUntyped: boolean; endpoints: SubscribedEndpoint[] }> {
  // Fixed text (one of two), prepared once per connection: ingest runs it on every event.
  const { rows } = (await hotStatement(db, options.endpoints ? WITH_ENDPOINTS : WITHOUT_ENDPOINTS, [
    tenantId,
    eventType,
    ...(options.endpoints ? [options.handOffMax ?? 0, ...subscribedBindings(tenantId, eventType)] : []),
    tenantId,
  ])) as { rows: Array<{ settings: Partial<TenantSettings> | null; event_type: EventTypeRecord | null; endpoints: SubscribedEndpoint[] }> };
  const row = rows[0];
  return {
    eventType: row?.event_type ?? null,
    allowUntyped: { ...DEFAULT_SETTINGS, ...(row?.settings ?? {}) }.allow_untyped_events,
    endpoints: row?.endpoints ?? [],
  };
}
