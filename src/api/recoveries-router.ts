import { z } from 'zod';
import type { AppDeps } from '../services/deps';
import { cancelRecovery, listEndpointRecoveries, readRecovery, recoverEndpoint } from '../services/recoveries';
import { caller } from './auth';
import { RouteTable } from './route-table';
import { cancelIn, isoTimestamp, pageQuery, resourceId } from './schemas';

const params = z.object({ id: resourceId('ep') }).strict();
const recoveryParams = z.object({ id: resourceId('ep'), rid: resourceId('rcv') }).strict();
const recoverIn = z
  .object({
    /** Deliveries created at or after this time… */
    since: isoTimestamp(),
    /** …and before this one (default: now). */
    until: isoTimestamp().optional(),
  })
  .strict();

/**
 * `/api/v1/endpoints/:id/recover` and `/recoveries`: redeliver every failed delivery of an
 * endpoint in a time window, one recovery workflow per request, its progress, its cancellation.
 */
export function recoveriesRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/endpoints', 'recoveries');

  table.add(
    {
      method: 'post',
      path: '/:id/recover',
      summary: 'Redeliver every failed delivery of the endpoint created in [since, until) (one recovery at a time per endpoint: 409 recovery_running)',
      scope: 'deliveries:write',
      params,
      body: recoverIn,
      status: 202,
    },
    async ({ params, body, res }) => recoverEndpoint(deps, caller(res), params.id, body),
  );

  table.add({ method: 'get', path: '/:id/recoveries', summary: "The endpoint's recoveries, newest first", scope: 'deliveries:read', params, query: pageQuery }, async ({ params, query, res }) =>
    listEndpointRecoveries(deps, caller(res), params.id, query),
  );

  table.add({ method: 'get', path: '/:id/recoveries/:rid', summary: 'A recovery and its progress (found, redelivered, skipped, remaining)', scope: 'deliveries:read', params: recoveryParams }, async ({ params, res }) =>
    readRecovery(deps, caller(res), params.id, params.rid),
  );

  table.add(
    { method: 'post', path: '/:id/recoveries/:rid/cancel', summary: 'Cancel a running recovery (redeliveries it started keep going)', scope: 'deliveries:write', params: recoveryParams, body: cancelIn, status: 202 },
    async ({ params, body, res }) => cancelRecovery(deps, caller(res), params.id, params.rid, body.reason),
  );

  return table;
}
