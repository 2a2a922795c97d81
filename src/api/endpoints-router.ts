import { z } from 'zod';
import { getEndpoint, listEndpoints } from '../db/endpoints-repo';
import { deliveryIdsByWorkflow } from '../db/events-repo';
import { deliveryStats, endpointSummary, successCounts, successRate } from '../db/endpoint-stats-repo';
import { rangeStats } from '../db/endpoint-range-stats-repo';
import { changeEndpoint, createEndpoint, deleteEndpoint, endpointOut } from '../services/endpoints';
import { endpointPublicKeys } from '../services/public-keys';
import type { AppDeps } from '../services/deps';
import { skipBlockedHead } from '../services/deliveries';
import { rotateEndpointSecret } from '../services/keys';
import { sendTestEvent, testDelivery } from '../services/test-delivery';
import { CURSOR_KEY_PURPOSE, searchDeliveries } from '../temporal/delivery-search';
import { caller } from './auth';
import { endpointStatsQuery } from './endpoint-stats-query';
import { RouteTable } from './route-table';
import { deliveryLogQuery, endpointIn, endpointListQuery, endpointPatch, endpointPut, eventTypeName, graceSeconds, resourceId } from './schemas';

const params = z.object({ id: resourceId('ep') }).strict();
const endpointTestIn = z
  .object({
    event: eventTypeName.default('webhook.test'),
    payload: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]).default({ message: 'test delivery' }),
  })
  .strict();
const rotateIn = z.object({ grace_seconds: graceSeconds.optional() }).strict();

/**
 * `/api/v1/endpoints`: the endpoint model, its secret's rotation, its stats (totals and over time)
 * and its delivery log.
 */
export function endpointsRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/endpoints', 'endpoints');

  table.add({ method: 'post', path: '/', summary: 'Create an endpoint (its secret is shown only here)', scope: 'endpoints:write', body: endpointIn, status: 201 }, async ({ body, res }) => {
    const { endpoint, secret, keyId, publicKey } = await createEndpoint(deps, caller(res), body);
    deps.log.info({ endpointId: endpoint.id, tenantId: endpoint.tenant_id }, 'endpoint created');
    return { ...endpointOut(endpoint), secret, key_id: keyId, ...(publicKey ? { public_key: publicKey } : {}) };
  });

  table.add({ method: 'get', path: '/', summary: 'List endpoints with a summary', scope: 'endpoints:read', query: endpointListQuery }, async ({ query, res }) => {
    const tenantId = caller(res).tenantId;
    const [{ items, total }, summary] = await Promise.all([listEndpoints(deps.db, tenantId, query), endpointSummary(deps.db, tenantId)]);
    const counts = await successCounts(deps.db, tenantId, items.map((e) => e.id));
    return {
      items: items.map((e) => {
        const c = counts.get(e.id) ?? { ok: 0, failed: 0 };
        return { ...endpointOut(e), success_count: c.ok, failure_count: c.failed, success_rate: successRate(c.ok, c.ok + c.failed) };
      }),
      total,
      limit: query.limit,
      offset: query.offset,
      summary,
    };
  });

  table.add({ method: 'get', path: '/:id', summary: 'One endpoint with its delivery stats', scope: 'endpoints:read', params }, async ({ params, res }) => {
    const tenantId = caller(res).tenantId;
    const endpoint = await getEndpoint(deps.db, tenantId, params.id);
    return { ...endpointOut(endpoint), delivery_stats: await deliveryStats(deps.db, tenantId, params.id) };
  });

  table.add(
    { method: 'get', path: '/:id/public-key', summary: 'The whpk_ public keys a standard-webhooks-v1a endpoint signs with now (active first)', scope: 'endpoints:read', params },
    async ({ params, res }) => endpointPublicKeys(deps, caller(res), params.id),
  );

  table.add({ method: 'put', path: '/:id', summary: 'Replace an endpoint', scope: 'endpoints:write', params, body: endpointPut }, async ({ params, body, res }) =>
    endpointOut(await changeEndpoint(deps, caller(res), params.id, body, 'replace')),
  );

  table.add({ method: 'patch', path: '/:id', summary: 'Change some fields of an endpoint', scope: 'endpoints:write', params, body: endpointPatch }, async ({ params, body, res }) =>
    endpointOut(await changeEndpoint(deps, caller(res), params.id, body, 'patch')),
  );

  table.add({ method: 'delete', path: '/:id', summary: 'Delete an endpoint (soft: history is kept)', scope: 'endpoints:write', params }, async ({ params, res }) => {
    await deleteEndpoint(deps, caller(res), params.id);
    return { id: params.id, deleted: true };
  });

  table.add({ method: 'get', path: '/:id/deliveries', summary: 'Delivery log of an endpoint, from Temporal visibility', scope: 'deliveries:read', params, query: deliveryLogQuery }, async ({ params, query, res }) => {
    const tenantId = caller(res).tenantId;
    await getEndpoint(deps.db, tenantId, params.id);
    const found = await searchDeliveries(deps.temporal, {
      tenantId,
      endpointId: params.id,
      status: query.status,
      eventType: query.event_type,
      since: query.since ? new Date(query.since) : undefined,
      until: query.until ? new Date(query.until) : undefined,
      limit: query.limit,
      cursor: query.cursor,
    }, deps.box.deriveKey(CURSOR_KEY_PURPOSE));
    const byWorkflow = await deliveryIdsByWorkflow(deps.db, tenantId, params.id, found.items.map((i) => i.workflow_id));
    return {
      items: found.items.map((item) => ({ id: byWorkflow.get(item.workflow_id) ?? null, endpoint_id: params.id, ...item })),
      total: found.total,
      next_cursor: found.next_cursor,
    };
  });

  table.add({ method: 'get', path: '/:id/stats', summary: 'Delivery statistics of an endpoint over time, from recorded attempts', scope: 'deliveries:read', params, query: endpointStatsQuery }, async ({ params, query, res }) => {
    const tenantId = caller(res).tenantId;
    await getEndpoint(deps.db, tenantId, params.id);
    const stats = await rangeStats(deps.db, tenantId, params.id, query);
    return { group_by: query.groupBy, since: query.since.toISOString(), until: query.until.toISOString(), ...stats };
  });

  table.add({ method: 'post', path: '/:id/test', summary: 'Send one signed test request now and report the answer', scope: 'endpoints:write', params, body: endpointTestIn }, async ({ params, body, res }) =>
    testDelivery(deps, caller(res), params.id, body),
  );

  table.add(
    { method: 'post', path: '/:id/test-event', summary: 'Send a test event to this endpoint alone, through the delivery pipeline (logged, retried, streamed)', scope: 'endpoints:write', params, body: endpointTestIn, status: 202 },
    async ({ params, body, res }) => sendTestEvent(deps, caller(res), params.id, body),
  );

  table.add(
    { method: 'post', path: '/:id/ordering/skip', summary: "Move a blocked FIFO line past the delivery it waits on", scope: 'deliveries:write', params, status: 202 },
    async ({ params, res }) => skipBlockedHead(deps, caller(res), params.id),
  );

  table.add(
    { method: 'post', path: '/:id/secret/rotate', summary: 'Rotate the endpoint secret (old one valid during grace_seconds, default 24 h)', scope: 'keys:manage', params, body: rotateIn, status: 202 },
    async ({ params, body, res }) => rotateEndpointSecret(deps, caller(res), params.id, body.grace_seconds),
  );

  return table;
}
