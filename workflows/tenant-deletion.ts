import { proxyActivities, sleep } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { TenantDeletionIn, TenantDeletionOut } from '../src/temporal/tenant-deletions';
import { cancelSignal } from './definitions';

type Activities = ReturnType<typeof createActivities>;

const { stopTenantWorkflows, deleteTenantSchedules } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

const { purgeTenantData } = proxyActivities<Activities>({
  startToCloseTimeout: '1h',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '5s', maximumInterval: '1m' },
});

/** Between two rounds of stopping: long enough for a cancelled delivery to close. */
const STOP_POLL = '2s';
/** Rounds of asking before the tenant's remaining workflows are terminated (about a minute). */
const ROUNDS_BEFORE_TERMINATE = 30;

/**
 * Deletes a tenant whose credentials, endpoints and sources the API has already switched off:
 * stops its running deliveries and key rotations, deletes its key auto-rotation schedules, then
 * purges its data. Every step is safe to repeat.
 */
export async function tenantDeletionWorkflow(input: TenantDeletionIn): Promise<TenantDeletionOut> {
  const reason = 'tenant deleted';
  let rounds = 0;
  for (;;) {
    const force = rounds >= ROUNDS_BEFORE_TERMINATE;
    const { running } = await stopTenantWorkflows({ tenantId: input.tenantId, cancelSignal: cancelSignal.name, reason, force });
    if (running === 0) break;
    rounds++;
    await sleep(STOP_POLL);
  }
  const deletedSchedules = await deleteTenantSchedules({ tenantId: input.tenantId });
  const purgedRows = await purgeTenantData(input);
  return { stopRounds: rounds, deletedSchedules, purgedRows };
}
