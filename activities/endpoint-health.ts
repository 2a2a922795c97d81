import type { AttemptResult } from '../src/domain/delivery';
import { recordAudit } from '../src/db/audit-repo';
import { deactivateEndpoint } from '../src/db/endpoints-repo';
import { recordTelemetry } from '../src/db/telemetry-repo';
import type { ActivityDeps } from './deps';

/** How an attempt names itself: in `endpoints.disabled_by`, and in the keys of the events it ends in. */
export function attemptKey(attempt: { deliveryId: string; attempt: number }): string {
  return `${attempt.deliveryId}:${attempt.attempt}`;
}

/** Attempts stopped before sending say nothing about the receiver's health. */
export const NOT_SENT = new Set(['endpoint_disabled', 'endpoint_deleted', 'body_too_large', 'not_signed', 'body_changed', 'no_signing_key']);

/** True when the attempt's request reached the wire (or failed on its way), so it tells of the receiver. */
export function reachedReceiver(result: Pick<AttemptResult, 'errorClass'>): boolean {
  return !NOT_SENT.has(result.errorClass ?? '');
}

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
 * Switches the endpoint off after an attempt when {@link disableReason} says so: once, with an
 * audit entry (actor `system`) and an `endpoint_disabled` telemetry event for operators; the
 * endpoint keeps which attempt switched it off. The reason when this call disabled it (the
 * caller reports `endpoint.disabled`), else null.
 */
export async function disableIfUnhealthy(
  { db, log, config }: Pick<ActivityDeps, 'db' | 'log' | 'config'>,
  attempt: { tenantId: string; endpointId: string; deliveryId: string; attempt: number },
  result: Pick<AttemptResult, 'responseStatus'>,
  health: { failingSince: Date | null; isActive: boolean } | null,
): Promise<string | null> {
  if (!health?.isActive) return null;
  const reason = disableReason(result, health.failingSince, config.ENDPOINT_DISABLE_AFTER_SECONDS, new Date());
  if (!reason) return null;
  if (!(await deactivateEndpoint(db, attempt.tenantId, attempt.endpointId, reason, attemptKey(attempt)))) return null;
  const details = { reason, failing_since: health.failingSince?.toISOString() ?? null, delivery_id: attempt.deliveryId };
  await recordAudit(db, { tenantId: attempt.tenantId, actor: 'system', action: 'WebhookDisabled', resourceType: 'endpoint', resourceId: attempt.endpointId, traceId: null, details });
  await recordTelemetry(db, { tenantId: attempt.tenantId, kind: 'endpoint_disabled', source: attempt.endpointId, result: 'disabled', details });
  log.warn({ endpointId: attempt.endpointId, deliveryId: attempt.deliveryId, reason }, 'endpoint disabled');
  return reason;
}
