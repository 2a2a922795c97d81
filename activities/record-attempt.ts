import { insertAttempt } from '../src/db/attempts-repo';
import { recordAudit } from '../src/db/audit-repo';
import { deactivateEndpoint, noteEndpointAttempt } from '../src/db/endpoints-repo';
import { recordTelemetry } from '../src/db/telemetry-repo';
import type { ActivityDeps } from './deps';
import type { AttemptResult } from '../src/domain/delivery';
import type { RecordIn } from './types';

/** Attempts stopped before sending say nothing about the receiver's health. */
const NOT_SENT = new Set(['endpoint_disabled', 'endpoint_deleted', 'body_too_large', 'not_signed', 'body_changed']);

/**
 * Why the endpoint should stop receiving after this attempt, or null: a 410 Gone, or no success
 * for `ENDPOINT_DISABLE_AFTER_SECONDS` (0 never).
 */
export function disableReason(result: Pick<AttemptResult, 'responseStatus'>, failingSince: Date | null, disableAfterSeconds: number, now: Date): string | null {
  if (result.responseStatus === 410) return 'the receiver answered 410 Gone';
  if (failingSince && disableAfterSeconds > 0 && now.getTime() - failingSince.getTime() >= disableAfterSeconds * 1000) {
    return `no successful attempt since ${failingSince.toISOString()} (ENDPOINT_DISABLE_AFTER_SECONDS=${disableAfterSeconds})`;
  }
  return null;
}

/**
 * Stores the attempt for aggregates, keeps the endpoint's health, counts the attempt in the
 * metrics and logs it. A 410 Gone, or failing for too long, disables the endpoint: once, audited
 * and with an `endpoint_disabled` telemetry event for operators.
 */
export function makeRecordAttempt({ db, log, metrics, config }: ActivityDeps) {
  async function disableEndpoint(input: RecordIn, reason: string, failingSince: Date | null): Promise<void> {
    if (!(await deactivateEndpoint(db, input.tenantId, input.endpointId, reason))) return;
    const details = { reason, failing_since: failingSince?.toISOString() ?? null, delivery_id: input.deliveryId };
    await recordAudit(db, { tenantId: input.tenantId, actor: 'system', action: 'WebhookDisabled', resourceType: 'endpoint', resourceId: input.endpointId, traceId: null, details });
    await recordTelemetry(db, { tenantId: input.tenantId, kind: 'endpoint_disabled', source: input.endpointId, result: 'disabled', details });
    log.warn({ endpointId: input.endpointId, deliveryId: input.deliveryId, reason }, 'endpoint disabled');
  }

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
    if (!NOT_SENT.has(result.errorClass ?? '')) {
      const health = await noteEndpointAttempt(db, input.tenantId, input.endpointId, result.outcome === 'succeeded');
      const reason = health?.isActive ? disableReason(result, health.failingSince, config.ENDPOINT_DISABLE_AFTER_SECONDS, new Date()) : null;
      if (reason) await disableEndpoint(input, reason, health!.failingSince);
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
