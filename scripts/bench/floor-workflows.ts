import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { FloorActivities, FloorIn } from './floor-activities';

const RETRY = { initialInterval: '200ms', maximumInterval: '2s', maximumAttempts: 5 } as const;

const regular = proxyActivities<FloorActivities>({ startToCloseTimeout: '10s', retry: RETRY });
const LOCAL = { startToCloseTimeout: '10s', retry: RETRY } as const;
const local = proxyLocalActivities<FloorActivities>(LOCAL);

/**
 * The floor: the least a Temporal-based delivery can do. One local activity POSTs the body
 * inside the workflow's first task, so a delivery is one workflow task and no activity task.
 * With a `summary` (the visibility run) the POST carries it, as the service's attempt step does.
 */
export async function floorLocalWorkflow(input: FloorIn): Promise<number> {
  if (input.summary === undefined) return local.postJson(input);
  return proxyLocalActivities<FloorActivities>({ ...LOCAL, summary: input.summary }).postJson(input);
}

/** The floor-regular run: the same POST as a regular activity (its own task, another round trip). */
export async function floorWorkflow(input: FloorIn): Promise<number> {
  return regular.postJson(input);
}
