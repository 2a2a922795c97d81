import {
  ApplicationFailure,
  ChildWorkflowFailure,
  condition,
  continueAsNew,
  defineSignal,
  executeChild,
  ParentClosePolicy,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { createActivities } from '../activities';
import { deliveryDisplay, deliveryInput, deliveryStartOptions, endpointTarget } from '../src/temporal/delivery-workflows';
import { RESUME_SIGNAL, WAKE_SIGNAL, type FifoSequencerIn, type LineAction } from '../src/temporal/fifo-sequencers';
import type { DeliveryFailure } from './definitions';
import { deliveryWorkflow } from './delivery';

type Activities = ReturnType<typeof createActivities>;

const { readLine, markLineDone, markLineBlocked } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

export const wakeSignal = defineSignal(WAKE_SIGNAL);
export const resumeSignal = defineSignal<[LineAction]>(RESUME_SIGNAL);

/** A line with nothing to send ends its sequencer after this long; the next delivery starts one. */
const IDLE_MS = 10 * 60_000;
/** A paused line (its endpoint switched off) looks again this often, besides being woken. */
const PAUSED_RECHECK_MS = 5 * 60_000;
/** Deliveries handled per run before continuing as new, keeping each history small. */
const RUN_LIMIT = 200;

/** How a delivery in the line ended. */
type Ending = 'delivered' | 'not_delivered' | 'endpoint_off' | 'outside_line';

/** Reads how a child delivery ended from what `executeChild` threw (or not). */
function endingOf(err: unknown): Ending {
  if (err instanceof WorkflowExecutionAlreadyStartedError) return 'outside_line';
  if (!(err instanceof ChildWorkflowFailure)) throw err;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure && cause.type === 'DeliveryFailed') {
    const details = cause.details?.[0] as DeliveryFailure | undefined;
    // Its endpoint was switched off (not deleted) mid-line: the delivery waits for it, in its place.
    if (details?.errorClass === 'endpoint_disabled') return 'endpoint_off';
  }
  return 'not_delivered';
}

/**
 * The line of a FIFO endpoint: starts its deliveries one at a time in sequence order (each its
 * own delivery workflow, with its usual id, attempts, log and redelivery), and starts the next
 * only when the one before has ended. A head that does not deliver (a dead letter, or cancelled)
 * is skipped, or blocks the line until an operator redelivers or skips it (`on_exhausted`). While
 * the endpoint is switched off the line pauses; a deleted endpoint's line runs out (each delivery
 * ends at once, cancelled). Progress lives in the database, so a sequencer that ends (idle) or
 * crashes picks up where the line is.
 */
export async function fifoSequencerWorkflow(input: FifoSequencerIn): Promise<void> {
  let woken = false;
  let action: LineAction | null = null;
  setHandler(wakeSignal, () => {
    woken = true;
  });
  setHandler(resumeSignal, (a) => {
    action = a;
  });
  /** Waits for an operator's decision about the blocked head. */
  const nextAction = async (): Promise<LineAction> => {
    action = null;
    await condition(() => action !== null);
    return action as unknown as LineAction;
  };

  let handled = 0;
  /** How far this run got; noted in the database once a page, and whenever the line stops. */
  let done = 0;
  let noted = 0;
  const note = async () => {
    if (done > noted) await markLineDone({ ...input, sequence: done });
    noted = done;
  };
  while (handled < RUN_LIMIT) {
    woken = false;
    await note();
    const line = await readLine({ ...input, afterSequence: done });
    if (!line) return;
    if (line.state === 'paused') {
      await condition(() => woken, PAUSED_RECHECK_MS);
      continue;
    }
    if (line.next.length === 0) {
      if (!(await condition(() => woken, IDLE_MS))) return; // everything done was noted above
      continue;
    }
    for (const d of line.next) {
      const delivery = { deliveryId: d.deliveryId, endpointId: input.endpointId, sequence: d.sequence, target: endpointTarget(line.endpoint) };
      const run = async (firstAttempt: number): Promise<Ending> => {
        const child = deliveryInput({ tenantId: input.tenantId, eventId: d.eventId, eventType: d.eventType }, delivery, firstAttempt > 1 ? firstAttempt : undefined);
        try {
          await executeChild(deliveryWorkflow, {
            ...deliveryStartOptions(child, 'after-failure', deliveryDisplay(child, line.endpoint)),
            parentClosePolicy: ParentClosePolicy.ABANDON,
          });
          return 'delivered';
        } catch (err) {
          return endingOf(err);
        }
      };
      let ending = await run(d.nextAttempt);
      if (ending === 'endpoint_off') break; // read the line again: paused until switched back on
      if (ending === 'not_delivered' && line.onExhausted === 'block' && line.state === 'open') {
        await note();
        await markLineBlocked({ ...input, deliveryId: d.deliveryId });
        let attemptsSoFar = d.nextAttempt;
        for (;;) {
          if ((await nextAction()) === 'skip') break;
          // Redelivered: the head runs again, its attempts continuing after the ones it made.
          attemptsSoFar = (await readLine(input))?.next.find((n) => n.deliveryId === d.deliveryId)?.nextAttempt ?? attemptsSoFar + 1;
          ending = await run(attemptsSoFar);
          if (ending !== 'not_delivered') break;
        }
        if (ending === 'endpoint_off') {
          await markLineBlocked({ ...input, deliveryId: null });
          break;
        }
        // Redelivered and delivered, or skipped: the line no longer waits on it.
        await markLineBlocked({ ...input, deliveryId: null });
      }
      done = d.sequence;
      handled++;
    }
  }
  await note();
  await continueAsNew<typeof fifoSequencerWorkflow>(input);
}
