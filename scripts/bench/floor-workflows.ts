import { proxyActivities } from '@temporalio/workflow';
import type { createFloorActivities, FloorIn } from './floor-activities';

const { postJson } = proxyActivities<ReturnType<typeof createFloorActivities>>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', maximumInterval: '2s', maximumAttempts: 5 },
});

/** The least a Temporal-based delivery can do: one activity that POSTs the body. */
export async function floorWorkflow(input: FloorIn): Promise<number> {
  return postJson(input);
}
