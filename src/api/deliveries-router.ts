import { z } from 'zod';
import { getDelivery } from '../db/events-repo';
import { cancelDelivery, redeliver } from '../services/deliveries';
import type { AppDeps } from '../services/deps';
import { readDeliveryHistory } from '../temporal/delivery-log';
import { caller } from './auth';
import { RouteTable } from './route-table';
import { cancelIn, resourceId } from './schemas';

const params = z.object({ id: resourceId('dlv') }).strict();

/** `/api/v1/deliveries`: one delivery with every attempt read from its workflow history. */
export function deliveriesRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/deliveries', 'deliveries');

  table.add({ method: 'get', path: '/:id', summary: 'A delivery with every attempt, from its workflow history', scope: 'deliveries:read', params }, async ({ params, res }) => {
    const delivery = await getDelivery(deps.db, caller(res).tenantId, params.id);
    const history = await readDeliveryHistory(deps.temporal, delivery.workflow_id);
    return {
      id: delivery.id,
      event_id: delivery.event_id,
      endpoint_id: delivery.endpoint_id,
      event_type: delivery.event_type,
      workflow_id: delivery.workflow_id,
      created_at: delivery.created_at,
      status: history?.status ?? 'scheduled',
      next_attempt_at: history?.next_attempt_at ?? null,
      attempts: history?.attempts ?? [],
    };
  });

  table.add({ method: 'post', path: '/:id/cancel', summary: 'Stop a delivery before its next attempt', scope: 'deliveries:write', params, body: cancelIn, status: 202 }, async ({ params, body, res }) => {
    await cancelDelivery(deps, caller(res), params.id, body.reason);
    return { id: params.id, cancel_requested: true };
  });

  table.add({ method: 'post', path: '/:id/redeliver', summary: 'Send a finished delivery again (same delivery id, attempts continue)', scope: 'deliveries:write', params, status: 202 }, async ({ params, res }) =>
    redeliver(deps, caller(res), params.id),
  );

  return table;
}
