import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy, type SearchAttributePair } from '@temporalio/common';
import { EndpointId, TenantId } from './search-attributes';

/**
 * A FIFO endpoint's sequencer: one workflow per endpoint that starts the endpoint's deliveries
 * one at a time, in the order of their sequence numbers, waiting for each to end. The database is
 * the line (each delivery stored with its number); the workflow is woken by a signal when there
 * is something new to look at, and ends when the line has been empty for a while. Workflow-safe.
 */

export interface FifoSequencerIn {
  tenantId: string;
  endpointId: string;
}

/** What the line does about its blocked head, when an operator decides. */
export type LineAction = 'retry' | 'skip';

export const FIFO_SEQUENCER_WORKFLOW = 'fifoSequencerWorkflow';
/** "Look at the line": a new delivery, the endpoint switched on or off, its ordering changed. */
export const WAKE_SIGNAL = 'wake';
/** "The blocked head: send it again (retry), or move on (skip)". */
export const RESUME_SIGNAL = 'resume';

export function fifoSequencerId(tenantId: string, endpointId: string): string {
  return `fifo-${tenantId}-${endpointId}`;
}

export function fifoSequencerSearchAttributes(input: FifoSequencerIn): SearchAttributePair[] {
  return [
    { key: TenantId, value: input.tenantId },
    { key: EndpointId, value: input.endpointId },
  ];
}

/** Wakes the endpoint's sequencer, starting it when it does not run. Safe to repeat. */
export async function wakeSequencer(client: Client, taskQueue: string, input: FifoSequencerIn): Promise<void> {
  await client.workflow.signalWithStart(FIFO_SEQUENCER_WORKFLOW, {
    taskQueue,
    workflowId: fifoSequencerId(input.tenantId, input.endpointId),
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    args: [input],
    signal: WAKE_SIGNAL,
    signalArgs: [],
    typedSearchAttributes: fifoSequencerSearchAttributes(input),
    staticSummary: `FIFO line of ${input.endpointId}`,
  });
}

/** Tells the sequencer what to do with its blocked head (it must be running: it is blocked). */
export async function resumeLine(client: Client, input: FifoSequencerIn, action: LineAction): Promise<void> {
  await client.workflow.getHandle(fifoSequencerId(input.tenantId, input.endpointId)).signal(RESUME_SIGNAL, action);
}
