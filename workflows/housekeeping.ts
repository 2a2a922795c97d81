import { patched, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { DispatchStoredOut } from '../activities/dispatch-stored-events';
import type { PurgeOut } from '../activities/housekeeping';
import type { RetentionOut } from '../activities/retention';

type Activities = ReturnType<typeof createActivities>;

const { purgeExpired } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '5s', maximumInterval: '1m', maximumAttempts: 5 },
});

const { dispatchStoredEvents, purgeRetention } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '5s', maximumInterval: '1m', maximumAttempts: 5 },
});

export interface HousekeepingOut extends PurgeOut {
  /** The outbox sweep: stored events whose deliveries were started now. */
  outbox?: DispatchStoredOut;
  /** Deliveries, attempts, events and recoveries past their tenant's retention, purged now. */
  retention?: Omit<RetentionOut, 'more'>;
}

/** Activity runs of the retention purge per housekeeping run, at most; the next run goes on. */
const RETENTION_RUNS = 10;

/**
 * One housekeeping pass, started by the housekeeping Schedule: purge, the outbox sweep, then
 * data past its tenant's retention, in bounded batches.
 */
export async function housekeepingWorkflow(): Promise<HousekeepingOut> {
  const purged = await purgeExpired();
  // Runs started before the sweep existed end after the purge.
  if (!patched('outbox-sweep')) return purged;
  const out: HousekeepingOut = { ...purged, outbox: await dispatchStoredEvents() };
  // Runs started before retention existed end after the sweep.
  if (!patched('retention')) return out;
  const retention = { deliveries: 0, attempts: 0, events: 0, recoveries: 0 };
  for (let i = 0; i < RETENTION_RUNS; i++) {
    const { more, ...batch } = await purgeRetention();
    for (const key of Object.keys(retention) as Array<keyof typeof retention>) retention[key] += batch[key];
    if (!more) break;
  }
  return { ...out, retention };
}
