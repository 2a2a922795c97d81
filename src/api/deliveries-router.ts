import { Router } from 'express';
import { z } from 'zod';
import { cancelSignal } from '../../workflows/definitions';
import { getDelivery } from '../db/events-repo';
import { AppError } from '../errors';
import type { AppDeps } from '../services/deps';
import { readDeliveryHistory } from '../temporal/delivery-log';
import { caller, requireScope } from './auth';
import { ok, validate } from './middleware';
import { cancelIn, resourceId } from './schemas';

const params = z.object({ id: resourceId('dlv') }).strict();

/** `/api/v1/deliveries`: one delivery with every attempt read from its workflow history. */
export function deliveriesRouter(deps: AppDeps): Router {
  const router = Router();

  router.get('/:id', requireScope('deliveries:read'), async (req, res) => {
    const { id } = validate(params, req.params, 'params');
    const delivery = await getDelivery(deps.db, caller(res).tenantId, id);
    const history = await readDeliveryHistory(deps.temporal, delivery.workflow_id);
    ok(res, {
      id: delivery.id,
      event_id: delivery.event_id,
      endpoint_id: delivery.endpoint_id,
      event_type: delivery.event_type,
      workflow_id: delivery.workflow_id,
      created_at: delivery.created_at,
      status: history?.status ?? 'scheduled',
      next_attempt_at: history?.next_attempt_at ?? null,
      attempts: history?.attempts ?? [],
    });
  });

  router.post('/:id/cancel', requireScope('deliveries:write'), async (req, res) => {
    const { id } = validate(params, req.params, 'params');
    const input = validate(cancelIn, req.body, 'body');
    const delivery = await getDelivery(deps.db, caller(res).tenantId, id);
    const handle = deps.temporal.workflow.getHandle(delivery.workflow_id);
    const description = await handle.describe().catch(() => null);
    if (description?.status.name !== 'RUNNING') {
      throw new AppError(409, 'not_running', `delivery ${id} is not in progress`);
    }
    await handle.signal(cancelSignal, { reason: input.reason });
    ok(res, { id, cancel_requested: true }, 202);
  });

  return router;
}
