import { z } from 'zod';
import { TENANT_ID_PATTERN } from '../domain/tenant';
import { listPlatformAudit } from '../db/platform-audit-repo';
import type { AppDeps } from '../services/deps';
import { RouteTable } from './route-table';

const platformAuditQuery = z
  .object({
    tenant_id: z.string().regex(TENANT_ID_PATTERN).optional(),
    action: z.string().max(64).regex(/^[A-Za-z]+$/).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();

/**
 * `/api/v1/platform/audit`: what platform credentials did (tenants created, changed, disabled,
 * deleted and purged; keys minted). Kept after the tenants it speaks of are gone.
 */
export function platformAuditRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/platform/audit', 'platform');
  table.add({ method: 'get', path: '/', summary: 'Platform audit log, newest first; outlives deleted tenants', scope: 'tenants:read', query: platformAuditQuery }, async ({ query }) => {
    const { items, total } = await listPlatformAudit(deps.db, {
      tenantId: query.tenant_id,
      action: query.action,
      since: query.since ? new Date(query.since) : undefined,
      until: query.until ? new Date(query.until) : undefined,
      limit: query.limit,
      offset: query.offset,
    });
    return { items, total, limit: query.limit, offset: query.offset };
  });
  return table;
}
