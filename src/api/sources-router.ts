import { z } from 'zod';
import { auditedBy, recordAudit } from '../db/audit-repo';
import { getSource, insertSource, listSources, softDeleteSource, updateSource, type SourceRecord } from '../db/inbound-repo';
import { insertActiveKey } from '../db/signing-keys-repo';
import { ValidationError } from '../errors';
import { newId } from '../ids';
import { HANDLER_NAMES } from '../inbound/handlers';
import { generateSecret, secretKeyBytes } from '../security/signing';
import type { AppDeps } from '../services/deps';
import { caller } from './auth';
import { RouteTable } from './route-table';
import { pageQuery, resourceId } from './schemas';

const handlerName = z.enum(HANDLER_NAMES);
const fields = {
  name: z.string().min(1).max(128),
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
const telemetryQuery = z
  .object({
    trace_id: z.string().max(128).optional(),
    source: z.string().max(64).optional(),
    kind: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();

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

function assertDefaultAllowed(allowed: string[], fallback: string) {
  if (!allowed.includes(fallback)) {
    throw new ValidationError('default_handler must be one of allowed_handlers', [{ path: 'body.default_handler', message: 'not in allowed_handlers' }]);
  }
}

/** `/api/v1/sources`: who may send inbound webhooks, with which handlers; and inbound telemetry. */
export function sourcesRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/sources', 'sources');
  const { db, box } = deps;

  table.add({ method: 'post', path: '/', summary: 'Register an inbound source (its secret is shown only here)', scope: 'sources:write', body: sourceIn, status: 201 }, async ({ body, res }) => {
    const who = caller(res);
    const { secret: given, ...write } = body;
    assertDefaultAllowed(write.allowed_handlers, write.default_handler);
    const secret = given ?? generateSecret();
    const id = newId('src');
    return db.transaction(async (trx) => {
      const source = await insertSource(trx, who.tenantId, id, write);
      const keyId = await insertActiveKey(trx, box, who.tenantId, { type: 'source', id }, secret);
      await recordAudit(trx, { ...auditedBy(who), action: 'SourceCreated', resourceType: 'source', resourceId: id });
      return { ...sourceOut(source), secret, key_id: keyId };
    });
  });

  table.add({ method: 'get', path: '/', summary: 'List inbound sources', scope: 'sources:read', query: pageQuery }, async ({ query, res }) => {
    const { items, total } = await listSources(db, caller(res).tenantId, query);
    return { items: items.map(sourceOut), total, limit: query.limit, offset: query.offset };
  });

  table.add({ method: 'get', path: '/:id', summary: 'One inbound source', scope: 'sources:read', params }, async ({ params, res }) =>
    sourceOut(await getSource(db, caller(res).tenantId, params.id)),
  );

  table.add({ method: 'patch', path: '/:id', summary: 'Change an inbound source', scope: 'sources:write', params, body: sourcePatch }, async ({ params, body, res }) => {
    const who = caller(res);
    const current = await getSource(db, who.tenantId, params.id);
    assertDefaultAllowed(body.allowed_handlers ?? current.allowed_handlers, body.default_handler ?? current.default_handler);
    const updated = await updateSource(db, who.tenantId, params.id, body);
    await recordAudit(db, { ...auditedBy(who), action: 'SourceUpdated', resourceType: 'source', resourceId: params.id });
    return sourceOut(updated);
  });

  table.add({ method: 'delete', path: '/:id', summary: 'Remove an inbound source', scope: 'sources:write', params }, async ({ params, res }) => {
    const who = caller(res);
    await softDeleteSource(db, who.tenantId, params.id);
    await recordAudit(db, { ...auditedBy(who), action: 'SourceDeleted', resourceType: 'source', resourceId: params.id });
    return { id: params.id, deleted: true };
  });

  return table;
}

/** `/api/v1/telemetry`: telemetry records (inbound requests, key rotations), e.g. by trace id. */
export function telemetryRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/telemetry', 'telemetry');
  table.add({ method: 'get', path: '/', summary: 'Telemetry records, newest first', scope: 'telemetry:read', query: telemetryQuery }, async ({ query, res }) => {
    const q = deps.db('telemetry_events').where({ tenant_id: caller(res).tenantId });
    if (query.trace_id) q.andWhere({ trace_id: query.trace_id });
    if (query.source) q.andWhere({ source: query.source });
    if (query.kind) q.andWhere({ kind: query.kind });
    const rows = await q.select('id', 'kind', 'source', 'trace_id', 'result', 'remote_addr', 'details', 'created_at').orderBy('id', 'desc').limit(query.limit);
    return { items: rows.map((r: Record<string, unknown>) => ({ ...r, id: Number(r.id) })) };
  });
  return table;
}
