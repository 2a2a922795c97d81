import { z } from 'zod';
import { eventTypeUsage, getEventType, listEventTypes, type EventTypeRecord } from '../db/event-types-repo';
import type { AppDeps } from '../services/deps';
import { createEventType, deleteEventType, operationalEventTypes, replaceEventType } from '../services/event-types';
import { caller } from './auth';
import { RouteTable } from './route-table';
import { eventTypeName, label } from './schemas';

const eventTypeIn = z
  .object({
    name: eventTypeName,
    description: z.string().max(1024).optional(),
    category: label(64).optional(),
    version: label(32).optional(),
    deprecated: z.boolean().optional(),
    payload_schema: z.record(z.string(), z.unknown()).optional(),
    example_payload: z.unknown().optional(),
  })
  .strict();

const params = z.object({ name: eventTypeName }).strict();
const listQuery = z.object({ category: z.string().max(64).optional(), include_deprecated: z.enum(['true', 'false']).default('true') }).strict();

const eventTypeOut = (t: EventTypeRecord) => ({
  id: t.id,
  name: t.name,
  description: t.description,
  category: t.category,
  version: t.version,
  deprecated: t.deprecated,
  payload_schema: t.payload_schema,
  example_payload: t.example_payload,
  created_at: t.created_at,
  updated_at: t.updated_at,
});

/** `/api/v1/event-types`: the catalog of event types and their payload schemas. */
export function eventTypesRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/event-types', 'event-types');
  const { db } = deps;

  table.add({ method: 'post', path: '/', summary: 'Add an event type to the catalog', scope: 'event-types:write', body: eventTypeIn, status: 201 }, async ({ body, res }) =>
    eventTypeOut(await createEventType(deps, caller(res), body)),
  );

  table.add({ method: 'get', path: '/', summary: 'The catalog, grouped by category with counts', scope: 'event-types:read', query: listQuery }, async ({ query, res }) => {
    const tenantId = caller(res).tenantId;
    const own = await listEventTypes(db, tenantId, { category: query.category, include_deprecated: query.include_deprecated === 'true' });
    // The built-in operational types, listed for every tenant (operational endpoints receive them).
    const builtIn = operationalEventTypes(tenantId).filter((t) => query.category === undefined || t.category === query.category);
    const types = [...own, ...builtIn];
    const groups = new Map<string, EventTypeRecord[]>();
    for (const t of types) groups.set(t.category ?? 'uncategorized', [...(groups.get(t.category ?? 'uncategorized') ?? []), t]);
    return {
      total: types.length,
      categories: [...groups.entries()].map(([category, items]) => ({ category, count: items.length, event_types: items.map(eventTypeOut) })),
    };
  });

  table.add({ method: 'get', path: '/:name', summary: 'One event type with its subscribers and last use', scope: 'event-types:read', params }, async ({ params, res }) => {
    const tenantId = caller(res).tenantId;
    const type = operationalEventTypes(tenantId, params.name)[0] ?? (await getEventType(db, tenantId, params.name));
    return { ...eventTypeOut(type), ...(await eventTypeUsage(db, tenantId, params.name)) };
  });

  table.add({ method: 'put', path: '/:name', summary: 'Replace an event type', scope: 'event-types:write', params, body: eventTypeIn }, async ({ params, body, res }) =>
    eventTypeOut(await replaceEventType(deps, caller(res), params.name, body)),
  );

  table.add({ method: 'delete', path: '/:name', summary: 'Remove an event type from the catalog', scope: 'event-types:write', params }, async ({ params, res }) => {
    await deleteEventType(deps, caller(res), params.name);
    return { name: params.name, deleted: true };
  });

  return table;
}
