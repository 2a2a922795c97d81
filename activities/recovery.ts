import { activityInfo, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { RecoveryCursor, RecoveryProgress, RecoveryState } from '../src/domain/recovery';
import { countFailedDeliveries, failedDeliveryPage, finishRecovery, noteRecoveryProgress, type FailedDelivery, type FailedPage, type RecoveryWindow } from '../src/db/recoveries-repo';
import { deliveryDisplay, deliveryInput, deliveryStartOptions, DELIVERY_WORKFLOW, deliveryWorkflowId, endpointTarget, type DisplayedEndpoint } from '../src/temporal/delivery-workflows';
import { resumeLine } from '../src/temporal/fifo-sequencers';
import type { ActivityDeps } from './deps';

/** A page of a recovery after its unordered deliveries were started: what the workflow needs of it. */
export interface RecoveredPage {
  endpoint: FailedPage['endpoint'];
  /** FIFO endpoints only: the failed deliveries, for the workflow to send one at a time. */
  items: FailedDelivery[];
  /** Unordered endpoints: how many were started again, and how many were refused (running, or delivered). */
  redelivered: number;
  skipped: number;
  next: RecoveryCursor;
}

/** The memo a recovery's redelivery carries, so a retried page knows its own starts. */
const RECOVERY_MEMO = 'recovery_id';

/**
 * Starts a failed delivery again (a new run of its workflow, attempts continuing), counted on the
 * recovery. Refused when it runs again already or delivered meanwhile: a run this same recovery
 * started (a retried page) still counts as redelivered, anything else as skipped.
 */
async function redeliverOne(client: Client, taskQueue: string, recoveryId: string, tenantId: string, endpointId: string, d: FailedDelivery, endpoint: DisplayedEndpoint): Promise<boolean> {
  const input = {
    ...deliveryInput({ tenantId, eventId: d.eventId, eventType: d.eventType }, { deliveryId: d.deliveryId, endpointId, target: endpointTarget(endpoint), sequence: d.sequence }, d.nextAttempt),
    recoveryId,
  };
  try {
    await client.workflow.start(DELIVERY_WORKFLOW, { taskQueue, ...deliveryStartOptions(input, 'after-failure', deliveryDisplay(input, endpoint)), memo: { [RECOVERY_MEMO]: recoveryId } });
    return true;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const run = await client.workflow.getHandle(deliveryWorkflowId(d.eventId, endpointId)).describe();
    return run.memo?.[RECOVERY_MEMO] === recoveryId;
  }
}

/** The activities of a recovery: count, read and start a page, note progress, end; and the FIFO head's retry. */
export function createRecoveryActivities({ db, log }: ActivityDeps) {
  return {
    /** How many failed deliveries the window holds as the recovery starts. */
    async countRecoverable(w: RecoveryWindow): Promise<number> {
      return countFailedDeliveries(db, w);
    },
    /**
     * The next page of the window's failed deliveries (keyset: bounded, however long the window).
     * An unordered endpoint's are started again here, together (a FIFO line's are left to the
     * workflow, one at a time). Safe to retry: starts already made are recognised.
     */
    async recoverPage(input: RecoveryWindow & { recoveryId: string; after: RecoveryCursor; limit: number }): Promise<RecoveredPage> {
      const page = await failedDeliveryPage(db, input, input.after, input.limit);
      const { endpoint } = page;
      if (!endpoint || endpoint.deleted || !endpoint.isActive || endpoint.fifo || page.items.length === 0) {
        return { endpoint, items: endpoint?.fifo ? page.items : [], redelivered: 0, skipped: 0, next: page.next };
      }
      const { client } = Context.current();
      const started = await Promise.all(
        page.items.map((d) => redeliverOne(client, activityInfo().taskQueue, input.recoveryId, input.tenantId, input.endpointId, d, endpoint)),
      );
      const redelivered = started.filter(Boolean).length;
      return { endpoint, items: [], redelivered, skipped: started.length - redelivered, next: page.next };
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
