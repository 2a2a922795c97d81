import { Router } from 'express';
import { z } from 'zod';
import { getEndpoint, listEndpoints } from '../db/endpoints-repo';
import { createEndpoint, endpointOut } from '../services/endpoints';
import type { AppDeps } from '../services/deps';
import { searchDeliveries } from '../temporal/delivery-search';
import { caller, requireScope } from './auth';
import { ok, validate } from './middleware';
import { deliveryLogQuery, endpointIn, pageQuery, resourceId } from './schemas';

const params = z.object({ id: resourceId('ep') }).strict();

/** `/api/v1/endpoints`: create, read, list, and each endpoint's delivery log. */
export function endpointsRouter(deps: AppDeps): Router {
  const router = Router();

  router.post('/', requireScope('endpoints:write'), async (req, res) => {
    const input = validate(endpointIn, req.body, 'body');
    const { endpoint, secret, keyId } = await createEndpoint(deps, caller(res).tenantId, input);
    deps.log.info({ endpointId: endpoint.id, tenantId: endpoint.tenant_id }, 'endpoint created');
    ok(res, { ...endpointOut(endpoint), secret, key_id: keyId }, 201);
  });

  router.get('/', requireScope('endpoints:read'), async (req, res) => {
    const page = validate(pageQuery, req.query, 'query');
    const { items, total } = await listEndpoints(deps.db, caller(res).tenantId, page);
    ok(res, { items: items.map(endpointOut), total, limit: page.limit, offset: page.offset });
  });

  router.get('/:id', requireScope('endpoints:read'), async (req, res) => {
    const { id } = validate(params, req.params, 'params');
    ok(res, endpointOut(await getEndpoint(deps.db, caller(res).tenantId, id)));
  });

  router.get('/:id/deliveries', requireScope('deliveries:read'), async (req, res) => {
    const { id } = validate(params, req.params, 'params');
    const query = validate(deliveryLogQuery, req.query, 'query');
    const tenantId = caller(res).tenantId;
    await getEndpoint(deps.db, tenantId, id);
    const found = await searchDeliveries(deps.temporal, {
      tenantId,
      endpointId: id,
      status: query.status,
      eventType: query.event_type,
      since: query.since ? new Date(query.since) : undefined,
      until: query.until ? new Date(query.until) : undefined,
      limit: query.limit,
      cursor: query.cursor,
    });
    const ids = await deps.db('deliveries')
      .select('id', 'workflow_id', 'event_id')
      .where({ tenant_id: tenantId, endpoint_id: id })
      .whereIn('workflow_id', found.items.map((i) => i.workflow_id));
    const byWorkflow = new Map(ids.map((r: { id: string; workflow_id: string }) => [r.workflow_id, r.id]));
    ok(res, {
      items: found.items.map((item) => ({ id: byWorkflow.get(item.workflow_id) ?? null, endpoint_id: id, ...item })),
      total: found.total,
      next_cursor: found.next_cursor,
    });
  });

  return router;
}
