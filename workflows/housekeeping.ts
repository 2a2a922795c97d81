import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { PurgeOut } from '../activities/housekeeping';

const { purgeExpired } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '5s', maximumInterval: '1m', maximumAttempts: 5 },
});

/** One housekeeping pass, started by the housekeeping Schedule. */
export async function housekeepingWorkflow(): Promise<PurgeOut> {
  return purgeExpired();
}
