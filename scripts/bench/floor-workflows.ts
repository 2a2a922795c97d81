import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { FloorActivities, FloorIn } from './floor-activities';

const RETRY = { initialInterval: '200ms', maximumInterval: '2s', maximumAttempts: 5 } as const;

const regular = proxyActivities<FloorActivities>({ startToCloseTimeout: '10s', retry: RETRY });
const local = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '10s', retry: RETRY });

/**
 * The floor: the least a Temporal-based delivery can do. One local activity POSTs the body
 * inside the workflow's first task, so a delivery is one workflow task and no activity task.
 */
export async function floorLocalWorkflow(input: FloorIn): Promise<number> {
  return local.postJson(input);
}

/** The floor-regular run: the same POST as a regular activity (its own task, another round trip). */
export async function floorWorkflow(input: FloorIn): Promise<number> {
  return regular.postJson(input);
}
