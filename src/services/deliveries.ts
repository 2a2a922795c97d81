import type { WorkflowExecutionDescription } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import type { Caller } from '../domain/caller';
import { lastAttemptNumber } from '../db/attempts-repo';
import { auditedBy, recordAudit } from '../db/audit-repo';
import { getEndpoint } from '../db/endpoints-repo';
import { getDelivery } from '../db/events-repo';
import { AppError } from '../errors';
import { deliveryDisplay, deliveryInput, endpointTarget, startDelivery, type DeliveryReuse } from '../temporal/delivery-workflows';
import { requestCancellation } from '../temporal/cancellation';
import { resumeLine } from '../temporal/fifo-sequencers';
import { DeliveryStatus } from '../temporal/search-attributes';
import { deliveryStateOf } from '../temporal/delivery-status';
import type { AppDeps } from './deps';

const audit = (caller: Caller, deliveryId: string) => ({ ...auditedBy(caller), resourceType: 'delivery', resourceId: deliveryId });

const inProgress = (id: string) => new AppError(409, 'in_progress', `delivery ${id} is still in progress; cancel it first or wait for it to finish`);
const alreadySucceeded = (id: string) =>
  new AppError(409, 'already_succeeded', `delivery ${id} succeeded; a delivered event is not sent again (send a new event to deliver it again)`);

/** The delivery's latest run as Temporal describes it, or null when it was never started. */
async function latestRun(deps: AppDeps, workflowId: string): Promise<WorkflowExecutionDescription | null> {
  try {
    return await deps.temporal.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/**
 * Stops a running delivery through Temporal's own cancellation (the path the Web UI's Cancel
 * button takes too): an attempt in flight finishes and is recorded, then the workflow stops and
 * ends Cancelled. The reason is kept with the cancel request in the workflow's history and in
 * the audit log.
 */
export async function cancelDelivery(deps: AppDeps, caller: Caller, id: string, reason: string | undefined): Promise<void> {
  const delivery = await getDelivery(deps.db, caller.tenantId, id);
  if ((await latestRun(deps, delivery.workflow_id))?.status.name !== 'RUNNING') {
    throw new AppError(409, 'not_running', `delivery ${id} is not in progress`);
  }
  await requestCancellation(deps.temporal, { workflowId: delivery.workflow_id }, reason ?? 'cancelled through the API', caller.actor);
  await recordAudit(deps.db, { ...audit(caller, id), action: 'DeliveryCancelled', details: reason ? { reason } : {} });
}

/**
 * The reuse policy a redelivery of this run takes, or the reason it cannot be redelivered: a run
 * still going, or one that delivered. A run that failed, was cancelled, terminated or timed out
 * is redelivered only after a failure (Temporal refuses a new run after a success, whatever raced
 * us); a completed run that did not deliver (deliveries started before dead letters ended as
 * failures) needs the policy that allows any closed run.
 */
function redeliveryReuse(id: string, run: WorkflowExecutionDescription | null): DeliveryReuse {
  if (!run) return 'after-failure';
  if (run.status.name === 'RUNNING') throw inProgress(id);
  if (run.status.name !== 'COMPLETED') return 'after-failure';
  if (deliveryStateOf('COMPLETED', run.typedSearchAttributes.get(DeliveryStatus)) === 'succeeded') throw alreadySucceeded(id);
  return 'after-close';
}

/**
 * Sends a delivery that did not succeed again (a dead letter after the receiver is fixed, a
 * cancelled or terminated one): a new run of the same workflow, so the delivery id receivers
 * deduplicate on stays the same, with attempt numbers continuing after the last recorded one and
 * the endpoint's retry schedule anew. A delivery that succeeded is never sent again (409).
 */
export async function redeliver(deps: AppDeps, caller: Caller, id: string): Promise<{ id: string; run_id: string | null; first_attempt: number; in_line?: true }> {
  const delivery = await getDelivery(deps.db, caller.tenantId, id);
  const endpoint = await getEndpoint(deps.db, caller.tenantId, delivery.endpoint_id).catch(() => null);
  if (!endpoint) throw new AppError(409, 'endpoint_deleted', `endpoint ${delivery.endpoint_id} was deleted`);
  if (!endpoint.is_active) throw new AppError(409, 'endpoint_inactive', `endpoint ${endpoint.id} is inactive; activate it first`);
  const reuse = redeliveryReuse(id, await latestRun(deps, delivery.workflow_id));

  const firstAttempt = (await lastAttemptNumber(deps.db, caller.tenantId, id)) + 1;
  if (endpoint.fifo_blocked_delivery_id === id) {
    // The head its FIFO line waits on: the line sends it again, in its place, then moves on.
    await resumeLine(deps.temporal, { tenantId: caller.tenantId, endpointId: endpoint.id }, 'retry');
    await recordAudit(deps.db, { ...audit(caller, id), action: 'DeliveryRedelivered', details: { in_line: true, first_attempt: firstAttempt } });
    return { id, run_id: null, first_attempt: firstAttempt, in_line: true };
  }
  const shown = { url: endpoint.url, retryConfig: endpoint.retry_config };
  const event = { tenantId: delivery.tenant_id, eventId: delivery.event_id, eventType: delivery.event_type };
  // A FIFO delivery sent again outside its line keeps its place's number for the receiver.
  const input = deliveryInput(event, { deliveryId: delivery.id, endpointId: delivery.endpoint_id, target: endpointTarget(shown), sequence: delivery.sequence === null ? null : Number(delivery.sequence) }, firstAttempt);
  let runId: string;
  try {
    ({ runId } = await startDelivery(deps.temporal, deps.config.TEMPORAL_TASK_QUEUE, input, reuse, deliveryDisplay(input, shown)));
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    // Refused by the reuse policy: another run started meanwhile, or the latest one succeeded.
    const now = await latestRun(deps, delivery.workflow_id);
    throw now?.status.name === 'RUNNING' ? inProgress(id) : alreadySucceeded(id);
  }
  await recordAudit(deps.db, { ...audit(caller, id), action: 'DeliveryRedelivered', details: { run_id: runId, first_attempt: firstAttempt } });
  deps.log.info({ deliveryId: id, runId, firstAttempt }, 'delivery redelivered');
  return { id, run_id: runId, first_attempt: firstAttempt };
}

/**
 * Moves a blocked FIFO line past its head (the delivery it waits on stays as it ended: it can be
 * redelivered later, outside the line). 409 `not_blocked` when the line waits on nothing.
 */
export async function skipBlockedHead(deps: AppDeps, caller: Caller, endpointId: string): Promise<{ endpoint_id: string; skipped: string }> {
  const endpoint = await getEndpoint(deps.db, caller.tenantId, endpointId);
  const head = endpoint.fifo_blocked_delivery_id;
  if (!head) throw new AppError(409, 'not_blocked', `the FIFO line of endpoint ${endpointId} waits on no delivery`);
  await resumeLine(deps.temporal, { tenantId: caller.tenantId, endpointId }, 'skip');
  await recordAudit(deps.db, { ...auditedBy(caller), action: 'FifoHeadSkipped', resourceType: 'endpoint', resourceId: endpointId, details: { delivery_id: head } });
  return { endpoint_id: endpointId, skipped: head };
}
