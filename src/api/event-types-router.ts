import { z } from 'zod';
import { auditedBy, recordAudit } from '../db/audit-repo';
import {
  eventTypeUsage,
  getEventType,
  insertEventType,
  listEventTypes,
  softDeleteEventType,
  tenantSettings,
  updateEventType,
  updateTenantSettings,
  type EventTypeRecord,
  type EventTypeWrite,
} from '../db/event-types-repo';
import { newId } from '../ids';
import type { AppDeps } from '../services/deps';
import { assertJsonSchema, assertMatchesSchema } from '../services/event-types';
import { caller, type Caller } from './auth';
import { RouteTable } from './route-table';
import { eventTypeName } from './schemas';

const eventTypeIn = z
  .object({
    name: eventTypeName,
    description: z.string().max(1024).optional(),
    category: z.string().min(1).max(64).optional(),
    version: z.string().min(1).max(32).optional(),
    deprecated: z.boolean().optional(),
    payload_schema: z.record(z.string(), z.unknown()).optional(),
    example_payload: z.unknown().optional(),
  })
  .strict();
type EventTypeIn = z.infer<typeof eventTypeIn>;

const params = z.object({ name: eventTypeName }).strict();
const listQuery = z.object({ category: z.string().max(64).optional(), include_deprecated: z.enum(['true', 'false']).default('true') }).strict();
const settingsIn = z.object({ allow_untyped_events: z.boolean() }).partial().strict();

/** Validates the schema (and the example against it) before anything is stored. */
function toWrite(input: EventTypeIn): EventTypeWrite {
  if (input.payload_schema) {
    assertJsonSchema(input.payload_schema);
    if (input.example_payload !== undefined) assertMatchesSchema(input.payload_schema, input.example_payload, 'body.example_payload');
  }
  return {
    name: input.name,
    description: input.description ?? null,
    category: input.category ?? null,
    version: input.version ?? null,
    deprecated: input.deprecated ?? false,
    payload_schema: input.payload_schema ?? null,
    example_payload: input.example_payload ?? null,
  };
}

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

const audit = (c: Caller, action: 'EventTypeCreated' | 'EventTypeUpdated' | 'EventTypeDeleted', name: string) => ({
  ...auditedBy(c), action, resourceType: 'event_type', resourceId: name,
});

/** `/api/v1/event-types`: the catalog of event types and their payload schemas. */
export function eventTypesRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/event-types', 'event-types');
  const { db } = deps;

  table.add({ method: 'post', path: '/', summary: 'Add an event type to the catalog', scope: 'event-types:write', body: eventTypeIn, status: 201 }, async ({ body, res }) => {
    const who = caller(res);
    const write = toWrite(body);
    return db.transaction(async (trx) => {
      const created = await insertEventType(trx, who.tenantId, newId('et'), write);
      await recordAudit(trx, audit(who, 'EventTypeCreated', body.name));
      return eventTypeOut(created);
    });
  });

  table.add({ method: 'get', path: '/', summary: 'The catalog, grouped by category with counts', scope: 'event-types:read', query: listQuery }, async ({ query, res }) => {
    const types = await listEventTypes(db, caller(res).tenantId, { category: query.category, include_deprecated: query.include_deprecated === 'true' });
    const groups = new Map<string, EventTypeRecord[]>();
    for (const t of types) groups.set(t.category ?? 'uncategorized', [...(groups.get(t.category ?? 'uncategorized') ?? []), t]);
    return {
      total: types.length,
      categories: [...groups.entries()].map(([category, items]) => ({ category, count: items.length, event_types: items.map(eventTypeOut) })),
    };
  });

  table.add({ method: 'get', path: '/:name', summary: 'One event type with its subscribers and last use', scope: 'event-types:read', params }, async ({ params, res }) => {
    const tenantId = caller(res).tenantId;
    const type = await getEventType(db, tenantId, params.name);
    return { ...eventTypeOut(type), ...(await eventTypeUsage(db, tenantId, params.name)) };
  });

  table.add({ method: 'put', path: '/:name', summary: 'Replace an event type', scope: 'event-types:write', params, body: eventTypeIn }, async ({ params, body, res }) => {
    const who = caller(res);
    const write = toWrite(body);
    return db.transaction(async (trx) => {
      const updated = await updateEventType(trx, who.tenantId, params.name, write);
      await recordAudit(trx, audit(who, 'EventTypeUpdated', params.name));
      return eventTypeOut(updated);
    });
  });

  table.add({ method: 'delete', path: '/:name', summary: 'Remove an event type from the catalog', scope: 'event-types:write', params }, async ({ params, res }) => {
    const who = caller(res);
    await db.transaction(async (trx) => {
      await softDeleteEventType(trx, who.tenantId, params.name);
      await recordAudit(trx, audit(who, 'EventTypeDeleted', params.name));
    });
    return { name: params.name, deleted: true };
  });

  return table;
}

/** `/api/v1/settings`: tenant-wide settings. */
export function settingsRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/settings', 'settings');
  table.add({ method: 'get', path: '/', summary: "The tenant's settings", scope: 'settings:manage' }, async ({ res }) => tenantSettings(deps.db, caller(res).tenantId));
  table.add({ method: 'patch', path: '/', summary: "Change the tenant's settings", scope: 'settings:manage', body: settingsIn }, async ({ body, res }) =>
    updateTenantSettings(deps.db, caller(res).tenantId, body),
  );
  return table;
}
