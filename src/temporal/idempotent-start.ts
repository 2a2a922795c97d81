import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';

/**
 * Treats "already started" as done. Workflow ids are derived from what they act on, so a start
 * that finds its workflow already there has nothing left to do. Workflow-safe.
 */
export function ignoreAlreadyStarted(err: unknown): void {
  if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
}
