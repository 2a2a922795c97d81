import { z } from 'zod';
import { attemptVerdicts } from '../db/attempts-repo';
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
    const tenantId = caller(res).tenantId;
    const delivery = await getDelivery(deps.db, tenantId, params.id);
    const [history, verdicts] = await Promise.all([readDeliveryHistory(deps.temporal, delivery.workflow_id), attemptVerdicts(deps.db, tenantId, delivery.id)]);
    return {
      id: delivery.id,
      event_id: delivery.event_id,
      endpoint_id: delivery.endpoint_id,
      event_type: delivery.event_type,
      workflow_id: delivery.workflow_id,
      // Its place in a FIFO endpoint's line (receivers get it as x-webhook-sequence); null when unordered.
      sequence: delivery.sequence === null ? null : Number(delivery.sequence),
      created_at: delivery.created_at,
      status: history?.status ?? 'scheduled',
      reason: history?.reason ?? null,
      next_attempt_at: history?.next_attempt_at ?? null,
      // `outcome` is what the receiver did on that attempt; `delivery_status` is where that left
      // the delivery (null until the attempt is recorded): the last attempt of an exhausted
      // delivery is `retryable` and `failed`.
      attempts: (history?.attempts ?? []).map((a) => ({ ...a, delivery_status: verdicts.get(a.attempt) ?? null })),
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
