import {
  condition,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  log,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { SignOut } from '../activities/types';
import type { AttemptResult, DeliveryState } from '../src/domain/delivery';
import type { DeliveryIn } from '../src/temporal/delivery-workflows';
import { DeliveryStatus } from '../src/temporal/search-attributes';
import { cancelSignal, statusQuery, type DeliveryOut } from './definitions';
import { nextDelayMs, withJitter } from './retry-policy';

type Activities = ReturnType<typeof createActivities>;

/** Quick steps on the worker that runs the workflow: no server round trip, still in history. */
const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', maximumInterval: '10s', maximumAttempts: 10 },
});

/** Margin over the HTTP timeout before Temporal considers a send lost (worker crash). */
const SEND_TIMEOUT_MARGIN_MS = 5_000;

/**
 * Delivers one event to one endpoint. Each attempt is sign → send → record; the retry loop lives
 * here, so every HTTP attempt is its own activity execution in history.
 */
export async function deliveryWorkflow(input: DeliveryIn): Promise<DeliveryOut> {
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

  setHandler(statusQuery, () => view());
  setHandler(cancelSignal, (args) => {
    cancelRequested = args?.reason ?? 'cancelled by request';
  });

  const plan = await local.loadDeliveryPlan(input);
  if (!plan.active) {
    setStatus('cancelled');
    return view('endpoint inactive or deleted');
  }
  const { sendWebhook } = proxyActivities<Activities>({
    startToCloseTimeout: plan.timeoutMs + SEND_TIMEOUT_MARGIN_MS,
    retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5 },
  });

  const first = input.firstAttempt ?? 1;
  /**
   * Signs the attempt, first waiting (durably) for its slot under the endpoint's rate limit; a
   * delivery cancelled while it waits gives its slot back, so those after it need not wait for it.
   */
  const signWhenAllowed = async (attempt: number): Promise<SignOut | null> => {
    let signed = await local.signRequest({ ...input, attempt });
    while (signed.waitMs !== undefined) {
      if (await condition(() => cancelRequested !== null, signed.waitMs)) {
        if (signed.slotMicros !== undefined && patched('release-send-slot')) {
          await local.releaseSendSlot({ tenantId: input.tenantId, endpointId: input.endpointId, slotMicros: signed.slotMicros });
        }
        return null;
      }
      signed = await local.signRequest({ ...input, attempt, slotReserved: signed.unreserved !== true });
    }
    return signed;
  };

  for (let attempt = first; ; attempt++) {
    if (cancelRequested) break;
    const signed = await signWhenAllowed(attempt);
    if (!signed) break;
    let result: AttemptResult;
    try {
      result = await sendWebhook({ ...input, attempt, headers: signed.headers, bodyDigest: signed.bodyDigest, timeoutMs: plan.timeoutMs });
    } catch (err) {
      // The activity itself kept failing (not the receiver): count it as a retryable attempt.
      result = {
        outcome: 'retryable',
        startedAt: new Date().toISOString(),
        durationMs: 0,
        responseStatus: null,
        errorClass: 'internal',
        errorMessage: err instanceof Error ? err.message : String(err),
        responseExcerpt: null,
        retryAfterMs: null,
      };
    }
    attempts = attempt;
    lastResponseStatus = result.responseStatus;
    const scheduled = plan.delaysMs[attempt - first];
    const next: DeliveryState =
      result.outcome === 'succeeded' ? 'succeeded' : result.outcome === 'failed' || scheduled === undefined ? 'failed' : 'retrying';
    await local.recordAttempt({ ...input, attempt, result, deliveryStatus: next });

    if (next === 'succeeded') {
      setStatus('succeeded');
      return view();
    }
    if (next === 'failed' || scheduled === undefined) {
      setStatus('failed');
      return view(result.outcome === 'failed' ? `not retryable: ${result.errorClass}` : 'retries exhausted');
    }
    const delay = nextDelayMs(withJitter(scheduled, plan.jitter, Math.random), result.retryAfterMs, plan.retryAfterMaxMs);
    setStatus('retrying');
    log.info('attempt failed, retrying', { attempt, delayMs: delay, errorClass: result.errorClass });
    if (await condition(() => cancelRequested !== null, delay)) break;
  }
  setStatus('cancelled');
  return view(cancelRequested);
}
