import { condition, log, proxyLocalActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { AttemptStep } from '../activities/types';
import type { DeliveryState } from '../src/domain/delivery';
import { ONE_STEP_ATTEMPTS, type DeliveryIn } from '../src/temporal/delivery-workflows';
import { DeliveryStatus } from '../src/temporal/search-attributes';
import { cancelSignal, statusQuery, type DeliveryOut } from './definitions';
import { legacyDeliveryWorkflow } from './delivery-v1';
import { retryDelaysMs, withJitter } from './retry-policy';

type Activities = ReturnType<typeof createActivities>;

/**
 * The attempt step runs on the worker that runs the workflow (a local activity): no task-queue
 * round trip, and the attempt is in history as the step's recorded result. Its timeout covers
 * the longest HTTP timeout an endpoint may set (120 s) plus margin; a crashed worker's step is
 * run again by the worker that takes over the workflow, with the same delivery id.
 */
const { deliverAttempt } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '130s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 },
});

/** Records an attempt the step could not (the database was unreachable right after a send). */
const { recordAttempt } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** The step itself kept failing before sending (the database unreachable): a retryable attempt. */
function failedStep(input: DeliveryIn, attempt: number, err: unknown): Exclude<AttemptStep, { kind: 'wait' | 'stopped' }> {
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
  };
}

/**
 * Delivers one event to one endpoint. The retry loop lives here, and each attempt is one step
 * (`deliverAttempt`) that prepares, signs, sends and records it, so a delivery that succeeds at
 * once takes one workflow task. Between attempts the workflow waits on durable timers: the
 * retry schedule, a receiver's Retry-After, or the endpoint's rate limit.
 */
export async function deliveryWorkflow(input: DeliveryIn): Promise<DeliveryOut> {
  if (input.version !== ONE_STEP_ATTEMPTS) return legacyDeliveryWorkflow(input);

  let status: DeliveryState = 'pending';
  let attempts = 0;
  let lastResponseStatus: number | null = null;
  let cancelRequested: string | null = null;

  const view = (reason: string | null = null): DeliveryOut => ({ status, attempts, lastResponseStatus, reason });
  const setStatus = (next: DeliveryState) => {
    if (next === status) return;
    status = next;
    upsertSearchAttributes([{ key: DeliveryStatus, value: next }]);
  };
  const cancelled = () => cancelRequested !== null;

  setHandler(statusQuery, () => view());
  setHandler(cancelSignal, (args) => {
    cancelRequested = args?.reason ?? 'cancelled by request';
  });

  /** One attempt, first waiting (durably) for its slot under the endpoint's rate limit; null: cancelled meanwhile. */
  const attemptOnce = async (attempt: number): Promise<Exclude<AttemptStep, { kind: 'wait' }> | null> => {
    try {
      let step = await deliverAttempt({ ...input, attempt });
      while (step.kind === 'wait') {
        if (await condition(cancelled, step.waitMs)) return null;
        step = await deliverAttempt({ ...input, attempt, slotReserved: true });
      }
      return step as Exclude<AttemptStep, { kind: 'wait' }>;
    } catch (err) {
      return failedStep(input, attempt, err);
    }
  };

  for (let attempt = input.firstAttempt ?? 1; !cancelled(); attempt++) {
    const step = await attemptOnce(attempt);
    if (step === null) break;
    if (step.kind === 'stopped') {
      setStatus('cancelled');
      return view(step.reason);
    }
    attempts = step.attempt;
    lastResponseStatus = step.result.responseStatus;
    if (!step.recorded) await recordAttempt({ ...input, attempt, result: step.result, deliveryStatus: step.deliveryStatus });
    setStatus(step.deliveryStatus);
    if (step.deliveryStatus === 'succeeded') return view();
    if (step.deliveryStatus === 'failed') {
      return view(step.result.outcome === 'failed' ? `not retryable: ${step.result.errorClass}` : 'retries exhausted');
    }
    log.info('attempt failed, retrying', { attempt, delayMs: step.retryInMs, errorClass: step.result.errorClass });
    if (await condition(cancelled, step.retryInMs ?? 0)) break;
  }
  setStatus('cancelled');
  return view(cancelRequested);
}
