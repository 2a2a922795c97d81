import { z } from 'zod';
import { getSource, listSources, type SourceRecord } from '../db/inbound-repo';
import { HANDLER_NAMES } from '../inbound/handlers';
import { secretKeyBytes } from '../security/signing';
import type { AppDeps } from '../services/deps';
import { changeSource, createSource, deleteSource } from '../services/sources';
import { caller } from './auth';
import { RouteTable } from './route-table';
import { label, pageQuery, resourceId } from './schemas';

const handlerName = z.enum(HANDLER_NAMES);
const fields = {
  name: label(128),
  allowed_handlers: z.array(handlerName).min(1),
  default_handler: handlerName,
  rate_limit_per_minute: z.number().int().min(1).max(100_000),
  tolerance_seconds: z.number().int().min(5).max(3600),
  is_active: z.boolean(),
};
const sourceIn = z
  .object({
    ...fields,
    rate_limit_per_minute: fields.rate_limit_per_minute.default(600),
    tolerance_seconds: fields.tolerance_seconds.default(300),
    is_active: fields.is_active.default(true),
    secret: z.string().refine((s) => secretKeyBytes(s) !== null, 'must be whsec_ followed by base64 of 24 to 64 bytes').optional(),
  })
  .strict();
const sourcePatch = z.object(fields).partial().strict().refine((p) => Object.keys(p).length > 0, 'give at least one field to change');
const params = z.object({ id: resourceId('src') }).strict();
const sourceOut = (s: SourceRecord) => ({
  id: s.id,
  name: s.name,
  allowed_handlers: s.allowed_handlers,
  default_handler: s.default_handler,
  rate_limit_per_minute: s.rate_limit_per_minute,
  tolerance_seconds: s.tolerance_seconds,
  is_active: s.is_active,
  created_at: s.created_at,
  updated_at: s.updated_at,
});

/** `/api/v1/sources`: who may send inbound webhooks, and with which handlers. */
export function sourcesRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/sources', 'sources');

  table.add({ method: 'post', path: '/', summary: 'Register an inbound source (its secret is shown only here)', scope: 'sources:write', body: sourceIn, status: 201 }, async ({ body, res }) => {
    const { source, secret, keyId } = await createSource(deps, caller(res), body);
    return { ...sourceOut(source), secret, key_id: keyId };
  });

  table.add({ method: 'get', path: '/', summary: 'List inbound sources', scope: 'sources:read', query: pageQuery }, async ({ query, res }) => {
    const { items, total } = await listSources(deps.db, caller(res).tenantId, query);
    return { items: items.map(sourceOut), total, limit: query.limit, offset: query.offset };
  });

  table.add({ method: 'get', path: '/:id', summary: 'One inbound source', scope: 'sources:read', params }, async ({ params, res }) =>
    sourceOut(await getSource(deps.db, caller(res).tenantId, params.id)),
  );

  table.add({ method: 'patch', path: '/:id', summary: 'Change an inbound source', scope: 'sources:write', params, body: sourcePatch }, async ({ params, body, res }) =>
    sourceOut(await changeSource(deps, caller(res), params.id, body)),
  );

  table.add({ method: 'delete', path: '/:id', summary: 'Remove an inbound source', scope: 'sources:write', params }, async ({ params, res }) => {
    await deleteSource(deps, caller(res), params.id);
    return { id: params.id, deleted: true };
  });

  return table;
}
