import { z } from 'zod';
import { getApiKey, listApiKeys } from '../db/api-keys-repo';
import { ROLES, SCOPES } from '../domain/scopes';
import { apiKeyOut, createApiKey, resolveScopes, revokeKey } from '../services/api-keys';
import type { AppDeps } from '../services/deps';
import { caller } from './auth';
import { RouteTable } from './route-table';
import { isoTimestamp, label, pageQuery, resourceId } from './schemas';

const params = z.object({ id: resourceId('ak') }).strict();

const apiKeyIn = z
  .object({
    name: label(128),
    scopes: z.array(z.enum(SCOPES)).min(1).optional(),
    role: z.enum(ROLES).optional(),
    expires_at: isoTimestamp().refine((d) => Date.parse(d) > Date.now(), 'must be in the future').optional(),
  })
  .strict()
  .refine((k) => !(k.scopes && k.role), 'give scopes or a role, not both');

/** `/api/v1/api-keys`: scoped keys, hashed at rest, shown once. */
export function apiKeysRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/api-keys', 'api-keys');

  table.add({ method: 'post', path: '/', summary: 'Create an API key (the key is shown only here)', scope: 'api-keys:manage', body: apiKeyIn, status: 201 }, async ({ body, res }) => {
    const who = caller(res);
    const { key, record } = await createApiKey(deps.db, who, {
      tenantId: who.tenantId,
      name: body.name,
      scopes: resolveScopes(body),
      expiresAt: body.expires_at ? new Date(body.expires_at) : null,
    });
    return { ...apiKeyOut(record), key };
  });

  table.add({ method: 'get', path: '/', summary: 'List API keys', scope: 'api-keys:manage', query: pageQuery }, async ({ query, res }) => {
    const { items, total } = await listApiKeys(deps.db, caller(res).tenantId, query);
    return { items: items.map(apiKeyOut), total, limit: query.limit, offset: query.offset };
  });

  table.add({ method: 'get', path: '/:id', summary: 'One API key', scope: 'api-keys:manage', params }, async ({ params, res }) =>
    apiKeyOut(await getApiKey(deps.db, caller(res).tenantId, params.id)),
  );

  table.add({ method: 'delete', path: '/:id', summary: 'Revoke an API key', scope: 'api-keys:manage', params }, async ({ params, res }) => {
    const who = caller(res);
    return apiKeyOut(await revokeKey(deps.db, who, who.tenantId, params.id));
  });

  return table;
}
