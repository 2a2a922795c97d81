import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { cancelSignal } from '../../workflows/definitions';
import type { Caller } from '../domain/caller';
import { lastAttemptNumber } from '../db/attempts-repo';
import { auditedBy, recordAudit } from '../db/audit-repo';
import { getEndpoint } from '../db/endpoints-repo';
import { getDelivery } from '../db/events-repo';
import { AppError } from '../errors';
import { deliveryInput, startDelivery } from '../temporal/delivery-workflows';
import type { AppDeps } from './deps';

const audit = (caller: Caller, deliveryId: string) => ({ ...auditedBy(caller), resourceType: 'delivery', resourceId: deliveryId });

const inProgress = (id: string) => new AppError(409, 'in_progress', `delivery ${id} is still in progress; cancel it first or wait for it to finish`);

async function isRunning(deps: AppDeps, workflowId: string): Promise<boolean> {
  const description = await deps.temporal.workflow.getHandle(workflowId).describe().catch(() => null);
  return description?.status.name === 'RUNNING';
}

/** Asks a running delivery to stop before its next attempt. */
export async function cancelDelivery(deps: AppDeps, caller: Caller, id: string, reason: string | undefined): Promise<void> {
  const delivery = await getDelivery(deps.db, caller.tenantId, id);
  if (!(await isRunning(deps, delivery.workflow_id))) {
    throw new AppError(409, 'not_running', `delivery ${id} is not in progress`);
  }
  await deps.temporal.workflow.getHandle(delivery.workflow_id).signal(cancelSignal, { reason });
  await recordAudit(deps.db, { ...audit(caller, id), action: 'DeliveryCancelled', details: reason ? { reason } : {} });
}

/**
 * Sends a finished delivery again (a failed one after the receiver is fixed, or any other): a new
 * run of the same workflow, so the delivery id receivers deduplicate on stays the same, with
 * attempt numbers continuing after the last recorded one and the endpoint's retry schedule anew.
 */
export async function redeliver(deps: AppDeps, caller: Caller, id: string): Promise<{ id: string; run_id: string; first_attempt: number }> {
  const delivery = await getDelivery(deps.db, caller.tenantId, id);
  const endpoint = await getEndpoint(deps.db, caller.tenantId, delivery.endpoint_id).catch(() => null);
  if (!endpoint) throw new AppError(409, 'endpoint_deleted', `endpoint ${delivery.endpoint_id} was deleted`);
  if (!endpoint.is_active) throw new AppError(409, 'endpoint_inactive', `endpoint ${endpoint.id} is inactive; activate it first`);
  if (await isRunning(deps, delivery.workflow_id)) throw inProgress(id);

  const firstAttempt = (await lastAttemptNumber(deps.db, caller.tenantId, id)) + 1;
  const event = { tenantId: delivery.tenant_id, eventId: delivery.event_id, eventType: delivery.event_type };
  const input = deliveryInput(event, { deliveryId: delivery.id, endpointId: delivery.endpoint_id }, firstAttempt);
  let runId: string;
  try {
    // ALLOW_DUPLICATE starts a new run only when none is running, so two racing requests start one.
    runId = await startDelivery(deps.temporal, deps.config.TEMPORAL_TASK_QUEUE, input, 'redeliver');
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw inProgress(id);
    throw err;
  }
  await recordAudit(deps.db, { ...audit(caller, id), action: 'DeliveryRedelivered', details: { run_id: runId, first_attempt: firstAttempt } });
  deps.log.info({ deliveryId: id, runId, firstAttempt }, 'delivery redelivered');
  return { id, run_id: runId, first_attempt: firstAttempt };
}
