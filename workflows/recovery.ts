import {
  CancellationScope,
  ChildWorkflowCancellationType,
  ChildWorkflowFailure,
  continueAsNew,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { createActivities } from '../activities';
import type { RecoveryProgress } from '../src/domain/recovery';
import { deliveryDisplay, deliveryInput, deliveryStartOptions, endpointTarget, type DeliveryIn } from '../src/temporal/delivery-workflows';
import type { RecoveryIn } from '../src/temporal/recoveries';
import { deliveryWorkflow } from './delivery';

type Activities = ReturnType<typeof createActivities>;

const { countRecoverable, recoverPage, noteRecovery, endRecovery, retryBlockedHead } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** Deliveries read per page: one bounded index walk, one batch of starts. */
export const RECOVERY_PAGE = 100;
/** Pages per run before continuing as new, keeping each run's history small. */
const PAGES_PER_RUN = 10;

/** A redelivery refused because its delivery runs again already, or succeeded meanwhile. */
const refused = (err: unknown) => err instanceof WorkflowExecutionAlreadyStartedError;

/**
 * Redelivers every failed delivery (a dead letter) of an endpoint created in a time window: page
 * by page (keyset, so a window of millions costs the same per page as one of ten), continuing as
 * new every few pages. Each redelivery is a new run of the delivery's own workflow (same id,
 * attempts continuing). Unordered endpoints get a page started at once by the page's activity
 * (one history event per page, not per delivery), then the recovery waits as long as the
 * endpoint's rate limit takes to send that page (each attempt still takes its send slot). A FIFO
 * endpoint's failed deliveries go one at a time, in line order, each an abandoned child waited
 * for; its blocked head is sent again by its own line. Progress is noted once a page;
 * cancelled (API or UI), it stops starting redeliveries: those started keep going.
 */
export async function recoveryWorkflow(input: RecoveryIn): Promise<void> {
  const window = { tenantId: input.tenantId, endpointId: input.endpointId, since: input.since, until: input.until };
  const end = (state: 'completed' | 'failed' | 'cancelled', progress: RecoveryProgress | null, reason: string | null) =>
    endRecovery({ recoveryId: input.recoveryId, state, progress, reason });

  const progress: RecoveryProgress = input.progress ?? { found: 0, redelivered: 0, skipped: 0 };
  let cursor = input.cursor;
  const show = () =>
    setCurrentDetails(`found ${progress.found} failed deliveries · redelivered ${progress.redelivered} · skipped ${progress.skipped} · remaining ${Math.max(0, progress.found - progress.redelivered - progress.skipped)}`);

  try {
    if (!input.progress) progress.found = await countRecoverable(window);
    for (let pages = 0; pages < PAGES_PER_RUN; pages++) {
      const page = await recoverPage({ ...window, recoveryId: input.recoveryId, after: cursor, limit: RECOVERY_PAGE });
      const endpoint = page.endpoint;
      if (!endpoint || endpoint.deleted || !endpoint.isActive) {
        await end('failed', progress, endpoint && !endpoint.deleted ? 'the endpoint was deactivated' : 'the endpoint was deleted');
        return;
      }
      const target = endpointTarget(endpoint);
      const childOf = (d: (typeof page.items)[number]) => {
        const child: DeliveryIn = {
          ...deliveryInput({ tenantId: input.tenantId, eventId: d.eventId, eventType: d.eventType }, { deliveryId: d.deliveryId, endpointId: input.endpointId, target, sequence: d.sequence }, d.nextAttempt),
          recoveryId: input.recoveryId,
        };
        return { ...deliveryStartOptions(child, 'after-failure', deliveryDisplay(child, endpoint)), parentClosePolicy: ParentClosePolicy.ABANDON };
      };

      if (endpoint.fifo) {
        for (const d of page.items) {
          if (d.deliveryId === endpoint.blockedOn) {
            await retryBlockedHead({ tenantId: input.tenantId, endpointId: input.endpointId });
            progress.redelivered++;
            continue;
          }
          try {
            // Waited for, one at a time; a cancelled recovery stops waiting and leaves it running.
            await executeChild(deliveryWorkflow, { ...childOf(d), cancellationType: ChildWorkflowCancellationType.ABANDON });
            progress.redelivered++;
          } catch (err) {
            if (refused(err)) progress.skipped++;
            // Sent again, and it did not deliver (failed again, or cancelled by someone): it was redelivered.
            else if (err instanceof ChildWorkflowFailure && !CancellationScope.current().consideredCancelled) progress.redelivered++;
            else throw err;
          }
          show();
        }
      } else {
        progress.redelivered += page.redelivered;
        progress.skipped += page.skipped;
      }
      progress.found = Math.max(progress.found, progress.redelivered + progress.skipped);
      show();
      await noteRecovery({ recoveryId: input.recoveryId, progress });
      cursor = page.next;
      if (!cursor) {
        await end('completed', progress, null);
        return;
      }
      const started = page.redelivered;
      // The page's attempts take this long under the rate limit: the next page waits for it.
      if (endpoint.rateLimit && started > 0) await sleep(Math.ceil((started / endpoint.rateLimit) * 1000));
      if (workflowInfo().continueAsNewSuggested) break;
    }
  } catch (err) {
    // Anything else is a bug: the run's task fails and is retried, as Temporal does; the API reads such a run's state from Temporal.
    if (isCancellation(err)) await CancellationScope.nonCancellable(() => end('cancelled', progress, 'cancelled'));
    throw err;
  }
  await continueAsNew<typeof recoveryWorkflow>({ ...input, cursor, progress });
}
