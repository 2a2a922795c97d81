import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import type { deliveryWorkflow } from '../../workflows/delivery';
import type { fanOutWorkflow } from '../../workflows/fan-out';
import { fanOutWorkflowId, type DeliveryIn } from '../../workflows/definitions';
import { deliverySearchAttributes } from '../../workflows/search-attribute-values';
import type { EventIn } from '../api/schemas';
import { listSubscribedEndpoints } from '../db/endpoints-repo';
import { insertEventWithDeliveries, markDispatched, type EventWithDeliveries } from '../db/events-repo';
import { UnavailableError } from '../errors';
import { newId } from '../ids';
import { checkEventPayload } from './event-types';
import { matchesFilters } from './filters';
import type { AppDeps } from './deps';

/** Up to this many deliveries are started by the API directly; more go through a fan-out workflow. */
export const INLINE_FAN_OUT_MAX = 8;

export interface IngestOut {
  event_id: string;
  deliveries: Array<{ id: string; endpoint_id: string }>;
  duplicate: boolean;
}

/** The body receivers get, serialized once and stored: `{id, type, timestamp, lang?, data}`. */
export function eventBody(id: string, input: EventIn, at: Date): string {
  return JSON.stringify({ id, type: input.type, timestamp: at.toISOString(), lang: input.lang, data: input.payload });
}

const ignoreAlreadyStarted = (err: unknown) => {
  if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
};

/** Starts the deliveries' workflows; every start is idempotent through its workflow id. */
async function dispatch({ temporal, config }: AppDeps, stored: EventWithDeliveries): Promise<void> {
  const { event, deliveries } = stored;
  const taskQueue = config.TEMPORAL_TASK_QUEUE;
  const reuse = WorkflowIdReusePolicy.REJECT_DUPLICATE;
  if (deliveries.length > INLINE_FAN_OUT_MAX) {
    await temporal.workflow
      .start<typeof fanOutWorkflow>('fanOutWorkflow', {
        taskQueue,
        workflowId: fanOutWorkflowId(event.id),
        workflowIdReusePolicy: reuse,
        args: [{ tenantId: event.tenant_id, eventId: event.id, eventType: event.type, afterDeliveryId: null }],
      })
      .catch(ignoreAlreadyStarted);
    return;
  }
  await Promise.all(
    deliveries.map((d) =>
      startDeliveryWorkflow(
        { temporal, config },
        d.workflow_id,
        { tenantId: d.tenant_id, deliveryId: d.id, eventId: d.event_id, endpointId: d.endpoint_id, eventType: event.type },
        reuse,
      ).catch(ignoreAlreadyStarted),
    ),
  );
}

/** Starts one delivery's workflow, with its search attributes, on the service's task queue. */
export async function startDeliveryWorkflow(
  { temporal, config }: Pick<AppDeps, 'temporal' | 'config'>,
  workflowId: string,
  input: DeliveryIn,
  reuse: WorkflowIdReusePolicy,
): Promise<string> {
  const handle = await temporal.workflow.start<typeof deliveryWorkflow>('deliveryWorkflow', {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowId,
    workflowIdReusePolicy: reuse,
    args: [input],
    typedSearchAttributes: deliverySearchAttributes(input),
  });
  return handle.firstExecutionRunId;
}

/**
 * Accepts an event: stores it once with one delivery per subscribed endpoint, then starts their
 * workflows. A repeated idempotency key returns the stored event and starts nothing new (unless
 * its dispatch never completed, which is then finished).
 */
export async function ingestEvent(deps: AppDeps, tenantId: string, input: EventIn): Promise<IngestOut> {
  await checkEventPayload(deps.db, tenantId, input.type, input.payload);
  const id = newId('evt');
  const subscribed = await listSubscribedEndpoints(deps.db, tenantId, input.type);
  const endpoints = subscribed.filter((e) => matchesFilters(e.filters, input.payload));
  const stored = await insertEventWithDeliveries(
    deps.db,
    tenantId,
    { id, type: input.type, body: eventBody(id, input, new Date()), idempotencyKey: input.idempotency_key ?? null },
    endpoints.map((e) => e.id),
  );
  deps.metrics.countIngestedEvent(stored.created ? 'created' : 'duplicate');
  if (!stored.event.dispatched_at && stored.deliveries.length > 0) {
    try {
      await dispatch(deps, stored);
    } catch (err) {
      deps.log.error({ err, eventId: stored.event.id }, 'could not start delivery workflows');
      throw new UnavailableError(
        `event ${stored.event.id} was stored but its deliveries could not be started (Temporal unreachable); ` +
          'retry with the same Idempotency-Key',
      );
    }
    await markDispatched(deps.db, stored.event.id);
  }
  return {
    event_id: stored.event.id,
    deliveries: stored.deliveries.map((d) => ({ id: d.id, endpoint_id: d.endpoint_id })),
    duplicate: !stored.created,
  };
}
