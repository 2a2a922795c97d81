import { z } from 'zod';
import { PLATFORM_SCOPES } from '../domain/scopes';
import { getPlatformKey, listPlatformKeys } from '../db/platform-keys-repo';
import type { AppDeps } from '../services/deps';
import { createPlatformKey, platformKeyOut, revokePlatformKeyAudited } from '../services/platform-keys';
import { platformCaller } from './auth';
import { RouteTable } from './route-table';
import { pageQuery, resourceId } from './schemas';

const params = z.object({ id: resourceId('pk') }).strict();

const platformKeyIn = z
  .object({
    name: z.string().min(1).max(128),
    /** Default: every platform scope the creator holds. */
    scopes: z.array(z.enum(PLATFORM_SCOPES)).min(1).optional(),
    expires_at: z.iso.datetime({ offset: true }).refine((d) => Date.parse(d) > Date.now(), 'must be in the future').optional(),
  })
  .strict();

/** `/api/v1/platform/api-keys`: the platform's own keys (`whp_…`), hashed at rest, shown once. */
export function platformKeysRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/platform/api-keys', 'platform');

  table.add({ method: 'post', path: '/', summary: 'Create a platform API key (the key is shown only here)', scope: 'platform-keys:manage', body: platformKeyIn, status: 201 }, async ({ body, res }) => {
    const who = platformCaller(res);
    const { key, record } = await createPlatformKey(deps.db, who, {
      name: body.name,
      scopes: body.scopes ? [...new Set(body.scopes)] : [...who.scopes],
      expiresAt: body.expires_at ? new Date(body.expires_at) : null,
    });
    return { ...platformKeyOut(record), key };
  });

  table.add({ method: 'get', path: '/', summary: 'List platform API keys', scope: 'platform-keys:manage', query: pageQuery }, async ({ query }) => {
    const { items, total } = await listPlatformKeys(deps.db, query);
    return { items: items.map(platformKeyOut), total, limit: query.limit, offset: query.offset };
  });

  table.add({ method: 'get', path: '/:id', summary: 'One platform API key', scope: 'platform-keys:manage', params }, async ({ params }) =>
    platformKeyOut(await getPlatformKey(deps.db, params.id)),
  );

  table.add({ method: 'delete', path: '/:id', summary: 'Revoke a platform API key', scope: 'platform-keys:manage', params }, async ({ params, res }) =>
    platformKeyOut(await revokePlatformKeyAudited(deps.db, platformCaller(res), params.id)),
  );

  return table;
}
