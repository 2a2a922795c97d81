import type { AttemptDeliveryState, AttemptResult } from '../src/domain/delivery';
import { storeAttempt, type EndpointAfterAttempt, type StoredAttempt } from '../src/db/attempts-repo';
import { endpointLeftBy, type DisabledByAttempt } from '../src/db/endpoints-repo';
import { reportAttempt, reportEnds } from './attempt-reports';
import type { ActivityDeps } from './deps';
import { deliveryRecovered, isRecovery } from './delivery-recovered';
import { attemptKey, disableIfUnhealthy, reachedReceiver } from './endpoint-health';
import type { AttemptIn } from './types';

/**
 * Stores one attempt (with its effect on the endpoint's counters and the keys' usage, one
 * statement) and, when the row is new, what follows from it: the endpoint's health, its circuit
 * and operational events, `afterStore` (the delivery step's usage-based key rotation), the
 * metrics (counted after the writes, so a recording retried after a failure counts once) and a
 * recovery's count. Shared by the delivery step and the record step that stands in for it.
 */
export async function storeAttemptAndEffects(
  deps: ActivityDeps,
  input: AttemptIn,
  outcome: { result: AttemptResult; deliveryStatus: AttemptDeliveryState; keyIds: string[]; readActiveUsage?: boolean },
  afterStore?: (stored: StoredAttempt) => Promise<void>,
): Promise<StoredAttempt> {
  const { result, deliveryStatus } = outcome;
  const stored = await storeAttempt(
    deps.db,
    {
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
      delivery_status: deliveryStatus,
    },
    { reachedReceiver: reachedReceiver(result), keyIds: outcome.keyIds, readActiveUsage: outcome.readActiveUsage },
  );
  let disabled: DisabledByAttempt | null;
  let endpoint: Pick<EndpointAfterAttempt, 'kind' | 'name' | 'url'> | null = stored.endpoint;
  if (stored.inserted) {
    const reason = await disableIfUnhealthy(deps, input, result, stored.health);
    disabled = reason === null ? null : { reason, failingSince: stored.health?.failingSince ?? null };
    await reportAttempt(deps, input, result, stored).catch((err) =>
      deps.log.warn({ err, deliveryId: input.deliveryId }, 'could not report the attempt (circuit, operational events)'),
    );
    await afterStore?.(stored);
    deps.metrics.observeDeliveryAttempt(result);
    if (deliveryStatus === 'succeeded' && isRecovery(input)) await deliveryRecovered(deps, input);
  } else {
    // A retried step: its statement changed nothing, so it returned no endpoint; and its first run
    // may have switched the endpoint off and stopped right after. One read tells both.
    const left = await endpointLeftBy(deps.db, input.tenantId, input.endpointId, attemptKey(input));
    endpoint = left;
    disabled = left?.disabled ?? null;
  }
  // By every run of the step, a retried one too: their keys make a second report a no-op.
  await reportEnds(deps, input, { result, deliveryStatus, disabled, previousDeliveryStatus: stored.previousDeliveryStatus }, endpoint);
  return stored;
}
