import type { Request } from 'express';
import { z } from 'zod';
import { PORTAL_SCOPES } from '../domain/scopes';
import type { AppDeps } from '../services/deps';
import { createPortalLink, MAX_LINK_SECONDS, MAX_SESSION_SECONDS } from '../services/portal-sessions';
import { caller } from './auth';
import { RouteTable } from './route-table';

const portalSessionIn = z
  .object({
    /** Seconds the session lasts once the link is opened (default 3600). */
    expires_in: z.number().int().min(60).max(MAX_SESSION_SECONDS).optional(),
    /** Seconds the link may wait to be opened (default 900). */
    link_expires_in: z.number().int().min(1).max(MAX_LINK_SECONDS).optional(),
    scopes: z.array(z.enum(PORTAL_SCOPES)).min(1).optional(),
    read_only: z.boolean().optional(),
  })
  .strict();

/** Where links point: PORTAL_PUBLIC_URL, else the origin this request came to. */
function publicOrigin(deps: AppDeps, req: Request): string {
  return deps.config.PORTAL_PUBLIC_URL ?? `${req.protocol}://${req.get('host') ?? `${deps.config.HOST}:${deps.config.PORT}`}`;
}

/** `/api/v1/portal`: one-time links that open the endpoint owners' portal. */
export function portalRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/portal', 'portal');

  table.add(
    { method: 'post', path: '/sessions', summary: 'Make a one-time link that opens a portal session for this tenant (the URL is shown only here)', scope: 'portal:write', body: portalSessionIn, status: 201 },
    async ({ body, req, res }) => createPortalLink(deps.db, caller(res), body, publicOrigin(deps, req)),
  );

  return table;
}
