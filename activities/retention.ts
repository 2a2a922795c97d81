import { Context } from '@temporalio/activity';
import { addCounts, batchWasFull, markPurgeHorizon, purgeBatch, type PurgedCounts } from '../src/db/retention-repo';
import type { ActivityDeps } from './deps';

/** Rows one batch deletes at most, per table. */
export const RETENTION_BATCH = 500;
/** Batches one activity runs before handing back to the workflow (which runs it again if there is more). */
const BATCHES_PER_RUN = 20;

export interface RetentionOut extends PurgedCounts {
  /** The last batch was full: the workflow runs the activity again. */
  more: boolean;
}

/**
 * Purges every tenant's deliveries, attempts, events and ended recoveries older than its
 * `retention_days`, in bounded batches (each its own short transaction), heartbeating between
 * them. Idempotent: a retry purges what is left.
 */
export function makePurgeRetention({ db, log }: ActivityDeps) {
  return async function purgeRetention(): Promise<RetentionOut> {
    await markPurgeHorizon(db, {});
    let total: PurgedCounts = { deliveries: 0, attempts: 0, events: 0, recoveries: 0 };
    for (let i = 0; i < BATCHES_PER_RUN; i++) {
      const batch = await purgeBatch(db, {}, RETENTION_BATCH);
      total = addCounts(total, batch);
      Context.current().heartbeat(total);
      if (!batchWasFull(batch, RETENTION_BATCH)) {
        if (total.deliveries + total.events > 0) log.info(total, 'retention purge');
        return { ...total, more: false };
      }
    }
    log.info(total, 'retention purge (more to do)');
    return { ...total, more: true };
  };
}
