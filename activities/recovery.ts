import { Context } from '@temporalio/activity';
import type { RecoveryCursor, RecoveryProgress, RecoveryState } from '../src/domain/recovery';
import { countFailedDeliveries, failedDeliveryPage, finishRecovery, noteRecoveryProgress, type FailedPage, type RecoveryWindow } from '../src/db/recoveries-repo';
import { resumeLine } from '../src/temporal/fifo-sequencers';
import type { ActivityDeps } from './deps';

/** The activities of a recovery: count, read a page, note progress, end; and the FIFO head's retry. */
export function createRecoveryActivities({ db, log }: ActivityDeps) {
  return {
    /** How many failed deliveries the window holds as the recovery starts. */
    async countRecoverable(w: RecoveryWindow): Promise<number> {
      return countFailedDeliveries(db, w);
    },
    /** The next page of the window's failed deliveries (keyset: bounded, however long the window). */
    async readFailedPage(input: RecoveryWindow & { after: RecoveryCursor; limit: number }): Promise<FailedPage> {
      return failedDeliveryPage(db, input, input.after, input.limit);
    },
    async noteRecovery(input: { recoveryId: string; progress: RecoveryProgress }): Promise<void> {
      await noteRecoveryProgress(db, input.recoveryId, input.progress);
    },
    async endRecovery(input: { recoveryId: string; state: Exclude<RecoveryState, 'running'>; progress: RecoveryProgress | null; reason: string | null }): Promise<void> {
      await finishRecovery(db, input.recoveryId, input.state, input.progress, input.reason);
      log.info({ recoveryId: input.recoveryId, state: input.state, ...input.progress, reason: input.reason }, 'recovery ended');
    },
    /** The blocked head of a FIFO line: its line sends it again, in its place (as a redelivery of it does). */
    async retryBlockedHead(input: { tenantId: string; endpointId: string }): Promise<void> {
      await resumeLine(Context.current().client, input, 'retry');
    },
  };
}
