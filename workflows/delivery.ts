import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { AttemptStep } from '../activities/types';
import type { DeliveryState } from '../src/domain/delivery';
import { attemptStepSummary, ONE_STEP_ATTEMPTS, STEP_WAITS_ON_CANCEL, SUCCESS_BY_CLOSE, type DeliveryIn } from '../src/temporal/delivery-workflows';
import { DeliveryStatus } from '../src/temporal/search-attributes';
import { cancelSignal, DELIVERY_FAILED, statusQuery, type DeliveryFailure, type DeliveryOut } from './definitions';
import { legacyDeliveryWorkflow } from './delivery-v1';
import { retryDelaysMs, spokenDuration, withJitter } from './retry-policy';

type Activities = ReturnType<typeof createActivities>;
type Attempted = Extract<AttemptStep, { kind: 'attempted' }>;
/** What a step asked to make its attempt answers (`unsent` answers only `storedOnly`). */
type MadeStep = Exclude<AttemptStep, { kind: 'unsent' }>;

/**
 * The attempt step runs on the worker that runs the workflow (a local activity): no task-queue
 * round trip, and the attempt is in history as the step's recorded result. Its timeout covers
 * the longest HTTP timeout an endpoint may set (120 s) plus margin; a crashed worker's step is
 * run again by the worker that takes over the workflow, with the same delivery id.
 */
const STEP_OPTIONS = {
  startToCloseTimeout: '130s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 },
} as const;

/** Records an attempt the step could not (the database was unreachable right after a send); gives back a send slot. */
const { recordAttempt, releaseSendSlot } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** The step itself kept failing before sending (the database unreachable): a retryable attempt. */
function failedStep(input: DeliveryIn, attempt: number, err: unknown): Attempted {
  const scheduled = retryDelaysMs(null)[attempt - (input.firstAttempt ?? 1)];
  return {
    kind: 'attempted',
    attempt,
    result: {
      outcome: 'retryable',
      startedAt: new Date().toISOString(),
      durationMs: 0,
      responseStatus: null,
      errorClass: 'internal',
      errorMessage: err instanceof Error ? err.message : String(err),
      responseExcerpt: null,
      retryAfterMs: null,
    },
    deliveryStatus: scheduled === undefined ? 'failed' : 'retrying',
    retryInMs: scheduled === undefined ? null : withJitter(scheduled, 0.2, Math.random),
    recorded: false,
    summary: `attempt ${attempt} could not be made: ${err instanceof Error ? err.message : String(err)}`,
  };
}

/**
 * Delivers one event to one endpoint. The retry loop lives here, and each attempt is one step
 * (`deliverAttempt`) that prepares, signs, sends and records it, so a delivery that succeeds at
 * once takes one workflow task. Between attempts the workflow waits on durable timers: the
 * retry schedule, a receiver's Retry-After, or the endpoint's rate limit.
 *
 * It ends the way the Web UI and Temporal's metrics understand: Completed when delivered; Failed
 * with a `DeliveryFailed` application failure for a dead letter (not retryable, or retries
 * exhausted) or a delivery its endpoint was switched off for; Cancelled by Temporal's
 * cancellation (the API's cancel and the UI's Cancel alike), after the attempt in flight.
 */
export async function deliveryWorkflow(input: DeliveryIn): Promise<DeliveryOut> {
  if (input.version !== ONE_STEP_ATTEMPTS && input.version !== SUCCESS_BY_CLOSE && input.version !== STEP_WAITS_ON_CANCEL) return legacyDeliveryWorkflow(input);
  // Versions 2 and 3 shield each step with a non-cancellable scope; later ones let it run in the
  // workflow's scope, waiting on a cancel for the step to finish.
  const shielded = input.version !== STEP_WAITS_ON_CANCEL;

  let status: DeliveryState = 'pending';
  let attempts = 0;
  let lastResponseStatus: number | null = null;
  let target = input.target ?? input.endpointId;

  const view = (reason: string | null = null): DeliveryOut => ({ status, attempts, lastResponseStatus, reason });
  const setStatus = (next: DeliveryState) => {
    if (next === status) return;
    status = next;
    // A success is said by the run completing (it does in this same task), not by an upsert.
    if (next === 'succeeded' && input.version !== ONE_STEP_ATTEMPTS) return;
    upsertSearchAttributes([{ key: DeliveryStatus, value: next }]);
  };
  setHandler(statusQuery, () => view());
  // Deliveries are cancelled through Temporal; an older API's signal is honoured the same way.
  setHandler(cancelSignal, () => CancellationScope.current().cancel());

  try {
    for (let attempt = input.firstAttempt ?? 1; ; attempt++) {
      // One attempt, first waiting (durably, cancellably) for its slot under the endpoint's rate
      // limit. Written out here, not in a helper: each promise a workflow makes costs the SDK's
      // promise hook a stack trace (about 60 µs of CPU), and a delivery that succeeds at once makes few.
      // An attempt under way finishes (and is recorded) even when the delivery is cancelled
      // meanwhile: Temporal waits for the step (or, before version 4, the step cannot be cancelled).
      const { deliverAttempt } = proxyLocalActivities<Activities>({
        ...STEP_OPTIONS,
        summary: attemptStepSummary(target, attempt),
        ...(shielded ? {} : { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED }),
      });
      const attemptStep = (
        shielded
          ? (slotReserved: boolean, fresh?: true) => CancellationScope.nonCancellable(() => deliverAttempt({ ...input, attempt, slotReserved, fresh }))
          : (slotReserved: boolean, fresh?: true) => deliverAttempt({ ...input, attempt, slotReserved, fresh })
      ) as (slotReserved: boolean, fresh?: true) => Promise<MadeStep>;
      let step: MadeStep;
      let waiting = false;
      try {
        step = await attemptStep(false, attempt === (input.firstAttempt ?? 1) && firstTaskFirstRun() ? true : undefined);
        while (step.kind === 'wait') {
          const { slotMicros, unreserved } = step;
          setCurrentDetails(
            step.reason === 'circuit'
              ? `attempt ${attempt} waits ${spokenDuration(step.waitMs)}: the endpoint's circuit is open (it failed too often in a row); one probe attempt goes first`
              : `attempt ${attempt} waits ${spokenDuration(step.waitMs)} for its slot under the endpoint's rate limit`,
          );
          try {
            waiting = true;
            await sleep(step.waitMs);
            waiting = false;
          } catch (err) {
            // Cancelled while waiting: the slot goes back, so the deliveries behind it need not wait for it.
            if (isCancellation(err) && slotMicros !== undefined) {
              await CancellationScope.nonCancellable(() => releaseSendSlot({ tenantId: input.tenantId, endpointId: input.endpointId, slotMicros }));
            }
            throw err;
          }
          step = await attemptStep(unreserved !== true);
        }
      } catch (err) {
        if (!isCancellation(err)) step = failedStep(input, attempt, err);
        else if (shielded || waiting) throw err;
        else {
          // Cancelled before the step ran (its task run again after the cancel came in, or taken
          // over from a stopped worker): an earlier run may have sent and stored this attempt.
          const stored = await CancellationScope.nonCancellable(() => deliverAttempt({ ...input, attempt, storedOnly: true }));
          if (stored.kind !== 'attempted') throw err;
          step = stored;
        }
      }
      if (step.kind === 'stopped') {
        setStatus('cancelled');
        throw deliveryFailure(`not delivered: the ${step.reason.replace('endpoint ', 'endpoint was ')} before this run sent anything`, {
          reason: step.reason,
          attempts,
          responseStatus: null,
          errorClass: step.reason === 'endpoint deleted' ? 'endpoint_deleted' : 'endpoint_disabled',
        });
      }
      attempts = step.attempt;
      lastResponseStatus = step.result.responseStatus;
      target = step.target ?? target;
      if (!step.recorded) await CancellationScope.nonCancellable(() => recordAttempt({ ...input, attempt, result: step.result, deliveryStatus: step.deliveryStatus }));
      setStatus(step.deliveryStatus);
      const said = step.summary ?? `attempt ${attempt}: ${step.result.outcome}`;
      if (step.deliveryStatus === 'succeeded') {
        setCurrentDetails(`delivered on attempt ${attempt}: ${said}`);
        return { ...view(), reason: said };
      }
      if (step.deliveryStatus === 'failed') {
        const why = step.result.outcome === 'failed' ? `not retryable (${step.result.errorClass})` : 'retries exhausted';
        throw deliveryFailure(`dead letter after attempt ${attempt}: ${said}; ${why}`, {
          reason: step.result.outcome === 'failed' ? `not retryable: ${step.result.errorClass}` : 'retries exhausted',
          attempts,
          responseStatus: lastResponseStatus,
          errorClass: step.result.errorClass,
        });
      }
      const delay = step.retryInMs ?? 0;
      setCurrentDetails(`attempt ${attempt}: ${said}; attempt ${attempt + 1} in ${spokenDuration(delay)}`);
      log.info('attempt failed, retrying', { attempt, delayMs: delay, errorClass: step.result.errorClass });
      await sleep(delay);
    }
  } catch (err) {
    if (isCancellation(err)) {
      setStatus('cancelled');
      setCurrentDetails(`cancelled after ${attempts} attempt(s)`);
    }
    throw err;
  }
}

/**
 * True in the run's first workflow task, the first time it runs: its history holds the start and
 * that task only (a task failed, timed out or refused before adds its own event), and it is not
 * replayed (a worker taking over a run replays it). A step it starts cannot have run before.
 */
function firstTaskFirstRun(): boolean {
  const info = workflowInfo();
  return info.historyLength <= FIRST_TASK_HISTORY && !info.unsafe.isReplaying;
}
/** WorkflowExecutionStarted, WorkflowTaskScheduled, WorkflowTaskStarted. */
const FIRST_TASK_HISTORY = 3;

/** The failure a delivery ends with when it does not deliver: the Web UI shows it in red, with its words. */
function deliveryFailure(message: string, details: DeliveryFailure): ApplicationFailure {
  return ApplicationFailure.create({ type: DELIVERY_FAILED, message, nonRetryable: true, details: [details] });
}
