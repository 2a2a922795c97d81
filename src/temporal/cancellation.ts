import { randomUUID } from 'node:crypto';
import { isGrpcServiceError, type Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';

/** gRPC NOT_FOUND: no such run, or it already closed. */
const GRPC_NOT_FOUND = 5;

/**
 * Requests Temporal's cancellation of a run, with who asks and why: the same request the Web
 * UI's Cancel button sends. The reason and identity stay in the run's history (its
 * `WorkflowExecutionCancelRequested` event), where the delivery log reads them back.
 *
 * @throws WorkflowNotFoundError when the run is gone or already closed.
 */
export async function requestCancellation(
  client: Client,
  execution: { workflowId: string; runId?: string },
  reason: string,
  identity: string,
): Promise<void> {
  try {
    await client.workflowService.requestCancelWorkflowExecution({
      namespace: client.options.namespace,
      workflowExecution: { workflowId: execution.workflowId, ...(execution.runId ? { runId: execution.runId } : {}) },
      identity,
      requestId: randomUUID(),
      reason,
    });
  } catch (err) {
    if (isGrpcServiceError(err) && err.code === GRPC_NOT_FOUND) throw new WorkflowNotFoundError(err.details ?? 'workflow not found', execution.workflowId, execution.runId);
    throw err;
  }
}
