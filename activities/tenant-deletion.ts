import { Context } from '@temporalio/activity';
import { ScheduleNotFoundError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { recordPlatformAudit } from '../src/db/platform-audit-repo';
import { deleteTenantRow, purgeTenantRows, PURGE_ORDER, tenantKeyScopes } from '../src/db/tenant-purge-repo';
import { DELIVERY_WORKFLOW } from '../src/temporal/delivery-workflows';
import { keyRotationScheduleId } from '../src/temporal/key-rotations';
import { runningTenantWorkflowsQuery, type TenantDeletionIn } from '../src/temporal/tenant-deletions';
import type { ActivityDeps } from './deps';

/** Workflows stopped per call, so one call stays short whatever the tenant's size. */
const STOP_PER_CALL = 2000;
/** Rows deleted per statement: short locks, steady progress, a heartbeat in between. */
const PURGE_BATCH = 1000;

export interface StopTenantWorkflowsIn {
  tenantId: string;
  /** The delivery workflow's cancel signal, named by the workflow (its one definition). */
  cancelSignal: string;
  reason: string;
  /** Terminate instead of asking: the last resort for workflows that did not stop in time. */
  force: boolean;
}

/** A workflow that closed between the listing and the call has nothing left to stop. */
const unlessGone = (err: unknown) => {
  if (!(err instanceof WorkflowNotFoundError)) throw err;
};

/**
 * Asks the tenant's running workflows (found by `TenantId`) to stop: a delivery gets its cancel
 * signal (it ends `cancelled` before its next attempt, never mid-request), a key rotation a
 * cancellation request; with `force`, both are terminated. Answers how many were still running.
 */
export function makeStopTenantWorkflows({ log }: ActivityDeps) {
  return async function stopTenantWorkflows(input: StopTenantWorkflowsIn): Promise<{ running: number }> {
    const { client } = Context.current();
    const found: Array<{ workflowId: string; runId: string; type: string }> = [];
    for await (const wf of client.workflow.list({ query: runningTenantWorkflowsQuery(input.tenantId), pageSize: 500 })) {
      found.push({ workflowId: wf.workflowId, runId: wf.runId, type: wf.type });
      if (found.length >= STOP_PER_CALL) break;
    }
    for (let i = 0; i < found.length; i += 50) {
      await Promise.all(
        found.slice(i, i + 50).map(async (wf) => {
          const handle = client.workflow.getHandle(wf.workflowId, wf.runId);
          if (input.force) await handle.terminate(input.reason).catch(unlessGone);
          else if (wf.type === DELIVERY_WORKFLOW) await handle.signal(input.cancelSignal, { reason: input.reason }).catch(unlessGone);
          else await handle.cancel().catch(unlessGone);
        }),
      );
      Context.current().heartbeat(i);
    }
    if (found.length > 0) log.info({ tenantId: input.tenantId, running: found.length, force: input.force }, 'stopping the workflows of a deleted tenant');
    return { running: found.length };
  };
}

/** Deletes the auto-rotation schedule of every key scope of the tenant; answers how many there were. */
export function makeDeleteTenantSchedules({ db }: ActivityDeps) {
  return async function deleteTenantSchedules(input: { tenantId: string }): Promise<number> {
    const { client } = Context.current();
    let deleted = 0;
    for (const scope of await tenantKeyScopes(db, input.tenantId)) {
      try {
        await client.schedule.getHandle(keyRotationScheduleId(input.tenantId, scope)).delete();
        deleted++;
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      }
    }
    return deleted;
  };
}

/**
 * Deletes every row of the tenant, table by table in batches, then the tenant itself, and writes
 * `TenantPurged` to the platform audit log (which keeps the tenant's history). Safe to retry:
 * each pass deletes what is left.
 */
export function makePurgeTenantData({ db, log }: ActivityDeps) {
  return async function purgeTenantData(input: TenantDeletionIn): Promise<Record<string, number>> {
    const purged: Record<string, number> = {};
    for (const table of PURGE_ORDER) {
      purged[table] = 0;
      for (;;) {
        const n = await purgeTenantRows(db, input.tenantId, table, PURGE_BATCH);
        purged[table] += n;
        Context.current().heartbeat({ table, purged: purged[table] });
        if (n < PURGE_BATCH) break;
      }
    }
    await db.transaction(async (trx) => {
      if (!(await deleteTenantRow(trx, input.tenantId))) return;
      await recordPlatformAudit(trx, {
        actor: input.actor,
        action: 'TenantPurged',
        tenantId: input.tenantId,
        resourceType: 'tenant',
        resourceId: input.tenantId,
        traceId: input.traceId,
        details: { rows: purged },
      });
    });
    log.info({ tenantId: input.tenantId, purged }, 'tenant data purged');
    return purged;
  };
}
