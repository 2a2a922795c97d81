import { storeAttempt } from '../src/db/attempts-repo';
import { reportAttempt } from './attempt-reports';
import type { ActivityDeps } from './deps';
import { deliveryRecovered, isRecovery } from './delivery-recovered';
import { disableIfUnhealthy, reachedReceiver } from './endpoint-health';
import type { RecordIn, RecordOut } from './types';

/**
 * Stores an attempt for aggregates, keeps the endpoint's health, counts the attempt in the
 * metrics and logs it. The delivery step records its own attempt in the same statement that
 * keeps the health; this activity records an attempt that step could not (a database outage
 * right after a send, or a step that kept failing), and the attempts of deliveries started
 * before the one-step attempt.
 */
export function makeRecordAttempt(deps: ActivityDeps) {
  const { db, log, metrics } = deps;
  return async function recordAttempt(input: RecordIn): Promise<RecordOut> {
    const { result } = input;
    const reached = reachedReceiver(result);
    const stored = await storeAttempt(db, {
      tenant_id: input.tenantId,
      delivery_id: input.deliveryId,
      endpoint_id: input.endpointId,
      event_id: input.eventId,
      attempt: input.attempt,
      outcome: result.outcome,
      started_at: new Date(result.startedAt),
      duration_ms: result.durationMs,
      response_status: result.responseStatus,
      error_class: result.errorClass,
      error_message: result.errorMessage,
      response_excerpt: result.responseExcerpt,
      delivery_status: input.deliveryStatus,
    }, { reachedReceiver: reached, keyIds: [] });
    if (stored.inserted) {
      const disabledFor = await disableIfUnhealthy(deps, input, result, stored.health);
      await reportAttempt(deps, input, { result, deliveryStatus: input.deliveryStatus, disabledFor }, stored).catch((err) =>
        log.warn({ err, deliveryId: input.deliveryId }, 'could not report the attempt (circuit, operational events)'),
      );
      // Counted after the writes, so a recording that failed and is retried counts once.
      metrics.observeDeliveryAttempt(result);
      if (input.deliveryStatus === 'succeeded' && isRecovery(input)) await deliveryRecovered(deps, input);
    }
    log.info(
      { deliveryId: input.deliveryId, endpointId: input.endpointId, eventId: input.eventId, attempt: input.attempt, outcome: result.outcome, status: result.responseStatus, durationMs: result.durationMs, errorClass: result.errorClass },
      'delivery attempt',
    );
    // Echoed so the workflow's history holds this attempt too (the delivery log reads it there).
    return { attempt: input.attempt, result };
  };
}
