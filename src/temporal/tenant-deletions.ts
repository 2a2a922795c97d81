import type { Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { visibilityString } from './search-attributes';

/**
 * A tenant deletion's identity: its workflow id, input and how it is started. Workflow-safe.
 * One runs per tenant: starting it again while it runs joins the running one.
 */

export interface TenantDeletionIn {
  tenantId: string;
  /** Who deleted the tenant (platform audit actor) and the request's trace id. */
  actor: string;
  traceId: string | null;
}

export interface TenantDeletionOut {
  /** Rounds of stopping the tenant's running workflows before none was left. */
  stopRounds: number;
  deletedSchedules: number;
  purgedRows: Record<string, number>;
}

export const TENANT_DELETION_WORKFLOW = 'tenantDeletionWorkflow';

export function tenantDeletionWorkflowId(tenantId: string): string {
  return `tenant-deletion-${tenantId}`;
}

/** Visibility query for the tenant's running workflows: deliveries and key rotations carry `TenantId`. */
export function runningTenantWorkflowsQuery(tenantId: string): string {
  return `TenantId = ${visibilityString(tenantId)} AND ExecutionStatus = 'Running'`;
}

/** Starts (or joins) the tenant's deletion; answers its workflow id. */
export async function startTenantDeletion(client: Client, taskQueue: string, input: TenantDeletionIn): Promise<string> {
  const handle = await client.workflow.start(TENANT_DELETION_WORKFLOW, {
    taskQueue,
    workflowId: tenantDeletionWorkflowId(input.tenantId),
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    args: [input],
  });
  return handle.workflowId;
}
