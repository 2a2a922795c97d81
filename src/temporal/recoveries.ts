import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { RecoveryCursor, RecoveryProgress } from '../domain/recovery';
import { EndpointId, TenantId } from './search-attributes';

/**
 * A recovery's identity: its workflow id, input and start. One workflow per request, which pages
 * through the endpoint's failed deliveries in the window and redelivers them. Workflow-safe.
 */

export const RECOVERY_WORKFLOW = 'recoveryWorkflow';

export interface RecoveryIn {
  tenantId: string;
  endpointId: string;
  recoveryId: string;
  /** The window, ISO timestamps: deliveries created at or after `since` and before `until`. */
  since: string;
  until: string;
  /** Where the next page starts (continue-as-new carries it); null at the start. */
  cursor: RecoveryCursor;
  /** The counts so far; null at the start (the run counts what it will look at first). */
  progress: RecoveryProgress | null;
}

export function recoveryWorkflowId(recoveryId: string): string {
  return `recovery-${recoveryId}`;
}

/** Starts a recovery's workflow, shown in the Temporal UI with its endpoint and window. */
export async function startRecovery(client: Client, taskQueue: string, input: Omit<RecoveryIn, 'cursor' | 'progress'>): Promise<string> {
  const args: [RecoveryIn] = [{ ...input, cursor: null, progress: null }];
  const handle = await client.workflow.start(RECOVERY_WORKFLOW, {
    taskQueue,
    workflowId: recoveryWorkflowId(input.recoveryId),
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    args,
    typedSearchAttributes: [
      { key: TenantId, value: input.tenantId },
      { key: EndpointId, value: input.endpointId },
    ],
    staticSummary: `Recover failed deliveries of ${input.endpointId}`,
    staticDetails: [
      `**Recovery** \`${input.recoveryId}\` · **Endpoint** \`${input.endpointId}\` · **Tenant** \`${input.tenantId}\``,
      `**Window** deliveries created from ${input.since} until ${input.until}`,
      'Redelivers every delivery of the window whose last attempt left it failed (a dead letter), page by page, within the endpoint\'s rate limit; a FIFO endpoint\'s one at a time, in line order.',
    ].join('\n\n'),
  });
  return handle.firstExecutionRunId;
}
