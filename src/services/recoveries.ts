import { WorkflowNotFoundError } from '@temporalio/common';
import type { Caller } from '../domain/caller';
import { auditedBy, recordAudit } from '../db/audit-repo';
import { getEndpoint } from '../db/endpoints-repo';
import {
  finishRecovery,
  getRecovery,
  insertRecovery,
  listRecoveries,
  markRecoveryCancelRequested,
  recoveryRunning,
  runningRecovery,
  type RecoveryRecord,
} from '../db/recoveries-repo';
import { AppError } from '../errors';
import { newId } from '../ids';
import { requestCancellation } from '../temporal/cancellation';
import { recoveryWorkflowId, startRecovery } from '../temporal/recoveries';
import type { AppDeps } from './deps';

/** How far in the future `until` may be (clocks differ a little); later is refused. */
const CLOCK_SKEW_MS = 60_000;

/** The public view of a recovery, with what is left to do. */
export function recoveryOut(r: RecoveryRecord) {
  return {
    id: r.id,
    endpoint_id: r.endpoint_id,
    workflow_id: r.workflow_id,
    since: r.since,
    until: r.until,
    state: r.state,
    reason: r.reason,
    found: r.found,
    redelivered: r.redelivered,
    skipped: r.skipped,
    // Found and neither redelivered nor skipped: still to do while it runs, left undone once it ended.
    remaining: Math.max(0, r.found - r.redelivered - r.skipped),
    // Redeliveries of this recovery that have delivered since.
    delivered: r.delivered,
    requested_by: r.requested_by,
    cancel_requested_at: r.cancel_requested_at,
    created_at: r.created_at,
    updated_at: r.updated_at,
    finished_at: r.finished_at,
  };
}

const invalidWindow = (msg: string) => new AppError(400, 'invalid_window', msg);

/** The window `[since, until)`; `until` defaults to now and may not lie in the future. */
export function recoveryWindow(since: string, until: string | undefined, now = new Date()): { since: Date; until: Date } {
  const from = new Date(since);
  const to = until === undefined ? now : new Date(until);
  if (to.getTime() > now.getTime() + CLOCK_SKEW_MS) throw invalidWindow('until must not be in the future');
  if (from.getTime() >= to.getTime()) throw invalidWindow('since must be before until');
  return { since: from, until: to };
}

/**
 * The endpoint's running recovery, checked against Temporal: a row whose workflow no longer runs
 * (terminated from the UI, say) is closed as failed, so it cannot hold the endpoint forever.
 */
async function stillRunning(deps: AppDeps, caller: Caller, endpointId: string): Promise<RecoveryRecord | null> {
  const row = await runningRecovery(deps.db, caller.tenantId, endpointId);
  if (!row) return null;
  const status = await deps.temporal.workflow
    .getHandle(row.workflow_id)
    .describe()
    .then((d) => d.status.name, (err) => (err instanceof WorkflowNotFoundError ? 'NOT_FOUND' : Promise.reject(err)));
  if (status === 'RUNNING') return row;
  await finishRecovery(deps.db, row.id, 'failed', null, `its workflow ended without finishing the recovery (${status.toLowerCase()})`);
  return null;
}

/**
 * Starts a recovery of the endpoint's failed deliveries created in the window: one workflow per
 * request. 409 `recovery_running` while another runs for the endpoint; 409 `endpoint_inactive`.
 */
export async function recoverEndpoint(deps: AppDeps, caller: Caller, endpointId: string, body: { since: string; until?: string }) {
  const endpoint = await getEndpoint(deps.db, caller.tenantId, endpointId);
  const window = recoveryWindow(body.since, body.until);
  if (!endpoint.is_active) throw new AppError(409, 'endpoint_inactive', `endpoint ${endpointId} is inactive; activate it first`);
  const running = await stillRunning(deps, caller, endpointId);
  if (running) throw recoveryRunning(endpointId, running.id);

  const id = newId('rcv');
  const workflowId = recoveryWorkflowId(id);
  const row = await insertRecovery(deps.db, { id, tenant_id: caller.tenantId, endpoint_id: endpointId, workflow_id: workflowId, ...window, requested_by: caller.actor });
  try {
    await startRecovery(deps.temporal, deps.config.TEMPORAL_TASK_QUEUE, {
      tenantId: caller.tenantId,
      endpointId,
      recoveryId: id,
      since: window.since.toISOString(),
      until: window.until.toISOString(),
    });
  } catch (err) {
    await finishRecovery(deps.db, id, 'failed', null, 'its workflow could not be started');
    throw err;
  }
  await recordAudit(deps.db, {
    ...auditedBy(caller),
    action: 'RecoveryStarted',
    resourceType: 'endpoint',
    resourceId: endpointId,
    details: { recovery_id: id, since: window.since.toISOString(), until: window.until.toISOString() },
  });
  deps.log.info({ recoveryId: id, endpointId, tenantId: caller.tenantId }, 'recovery started');
  return recoveryOut(row);
}

export async function readRecovery(deps: AppDeps, caller: Caller, endpointId: string, id: string) {
  await getEndpoint(deps.db, caller.tenantId, endpointId);
  return recoveryOut(await getRecovery(deps.db, caller.tenantId, endpointId, id));
}

export async function listEndpointRecoveries(deps: AppDeps, caller: Caller, endpointId: string, page: { limit: number; offset: number }) {
  await getEndpoint(deps.db, caller.tenantId, endpointId);
  const { items, total } = await listRecoveries(deps.db, caller.tenantId, endpointId, page);
  return { items: items.map(recoveryOut), total, limit: page.limit, offset: page.offset };
}

/**
 * Cancels a running recovery through Temporal's cancellation (as the UI's Cancel does): it starts
 * no more redeliveries; those it started keep going. 409 `not_running` once it has ended.
 */
export async function cancelRecovery(deps: AppDeps, caller: Caller, endpointId: string, id: string, reason: string | undefined) {
  await getEndpoint(deps.db, caller.tenantId, endpointId);
  const row = await getRecovery(deps.db, caller.tenantId, endpointId, id);
  const notRunning = new AppError(409, 'not_running', `recovery ${id} is not running (${row.state})`);
  if (row.state !== 'running') throw notRunning;
  try {
    await requestCancellation(deps.temporal, { workflowId: row.workflow_id }, reason ?? 'cancelled through the API', caller.actor);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    await stillRunning(deps, caller, endpointId);
    throw notRunning;
  }
  await markRecoveryCancelRequested(deps.db, id);
  await recordAudit(deps.db, { ...auditedBy(caller), action: 'RecoveryCancelled', resourceType: 'endpoint', resourceId: endpointId, details: { recovery_id: id, ...(reason ? { reason } : {}) } });
  return recoveryOut(await getRecovery(deps.db, caller.tenantId, endpointId, id));
}
