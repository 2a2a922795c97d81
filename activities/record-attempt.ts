import { insertAttempt } from '../src/db/attempts-repo';
import { deactivateEndpoint, touchLastTriggered } from '../src/db/endpoints-repo';
import type { ActivityDeps } from './deps';
import type { RecordIn } from './types';

/**
 * Stores the attempt for aggregates, counts it in the metrics and logs it; a 410 Gone also
 * deactivates the endpoint.
 */
export function makeRecordAttempt({ db, log, metrics }: ActivityDeps) {
  return async function recordAttempt(input: RecordIn): Promise<void> {
    const { result } = input;
    await insertAttempt(db, {
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
    });
    await touchLastTriggered(db, input.tenantId, input.endpointId);
    if (result.responseStatus === 410) {
      await deactivateEndpoint(db, input.tenantId, input.endpointId);
      log.warn({ endpointId: input.endpointId, deliveryId: input.deliveryId }, 'endpoint answered 410 Gone: deactivated');
    }
    // Counted after the writes, so a recording that failed and is retried counts once.
    metrics.observeDeliveryAttempt(result);
    log.info(
      {
        deliveryId: input.deliveryId,
        endpointId: input.endpointId,
        eventId: input.eventId,
        attempt: input.attempt,
        outcome: result.outcome,
        status: result.responseStatus,
        durationMs: result.durationMs,
        errorClass: result.errorClass,
      },
      'delivery attempt',
    );
  };
}
