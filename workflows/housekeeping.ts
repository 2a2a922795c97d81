import { patched, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { DispatchStoredOut } from '../activities/dispatch-stored-events';
import type { PurgeOut } from '../activities/housekeeping';

type Activities = ReturnType<typeof createActivities>;

const { purgeExpired } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '5s', maximumInterval: '1m', maximumAttempts: 5 },
});

const { dispatchStoredEvents } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '5s', maximumInterval: '1m', maximumAttempts: 5 },
});

export interface HousekeepingOut extends PurgeOut {
  /** The outbox sweep: stored events whose deliveries were started now. */
  outbox?: DispatchStoredOut;
}

/** One housekeeping pass, started by the housekeeping Schedule: purge, then the outbox sweep. */
export async function housekeepingWorkflow(): Promise<HousekeepingOut> {
  const purged = await purgeExpired();
  // Runs started before the sweep existed end after the purge.
  if (!patched('outbox-sweep')) return purged;
  return { ...purged, outbox: await dispatchStoredEvents() };
}
