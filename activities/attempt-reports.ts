import { endpointNaming, type EndpointAfterAttempt, type StoredAttempt } from '../src/db/attempts-repo';
import { advanceFailingAlert, closeCircuit, openCircuit, reopenCircuit } from '../src/db/endpoint-circuit-repo';
import type { AttemptDeliveryState, AttemptResult } from '../src/domain/delivery';
import { failingAlertsDue } from '../src/domain/operational-events';
import type { ActivityDeps } from './deps';
import { reachedReceiver } from './endpoint-health';
import { emitOperationalEvent, type OperationalEvent } from './operational-events';

/** The attempt as the reports name it. */
export interface ReportedAttempt {
  tenantId: string;
  endpointId: string;
  deliveryId: string;
  eventId: string;
  eventType: string;
  attempt: number;
}

/** Deliveries stopped because their endpoint went away are not dead letters of the receiver's making. */
const STOPPED = new Set(['endpoint_disabled', 'endpoint_deleted']);

/** The circuit settings that apply to an endpoint: its own, else the service's. */
export function circuitSettings(config: ActivityDeps['config'], endpoint: Pick<EndpointAfterAttempt, 'circuitFailureThreshold' | 'circuitCooldownSeconds'>) {
  return {
    failureThreshold: endpoint.circuitFailureThreshold ?? config.CIRCUIT_FAILURE_THRESHOLD,
    cooldownSeconds: endpoint.circuitCooldownSeconds ?? config.CIRCUIT_COOLDOWN_SECONDS,
  };
}

/**
 * What a stored attempt changes beyond its own statement, only when it changes something: the
 * endpoint's circuit (a success closes it; a failure opens it at the threshold, or opens a
 * half-open one again), and the operational events it causes: `endpoint.circuit_opened` and
 * `_closed`, `endpoint.failing` at each share of the disable threshold and `endpoint.disabled`
 * (`disabledFor`: the reason when this attempt disabled the endpoint); the delivery's end is
 * {@link reportDeliveryEnd}'s. An attempt to an operational endpoint never reports anything, so
 * operational deliveries cannot cause operational events (no loops). A successful attempt to an
 * endpoint whose circuit is closed costs nothing here.
 */
export async function reportAttempt(
  deps: Pick<ActivityDeps, 'db' | 'log' | 'metrics' | 'config'>,
  attempt: ReportedAttempt,
  outcome: { result: AttemptResult; disabledFor: string | null },
  stored: StoredAttempt,
): Promise<void> {
  const endpoint = stored.endpoint;
  if (!stored.inserted || !endpoint) return;
  const { db, metrics, config } = deps;
  const { result } = outcome;
  const silent = endpoint.kind === 'operational';
  const events: OperationalEvent[] = [];
  const named = { endpoint_id: attempt.endpointId, endpoint_name: endpoint.name, endpoint_url: endpoint.url };
  const event = (type: OperationalEvent['type'], key: string, data: Record<string, unknown>) =>
    events.push({ tenantId: attempt.tenantId, type, key, data: { ...named, ...data } });

  if (reachedReceiver(result)) {
    const { failureThreshold, cooldownSeconds } = circuitSettings(config, endpoint);
    if (result.outcome === 'succeeded') {
      if (endpoint.circuitState !== 'closed') {
        const closed = await closeCircuit(db, attempt.tenantId, attempt.endpointId);
        if (closed) {
          metrics.countCircuitTransition('closed');
          event('endpoint.circuit_closed', `circuit_closed:${attempt.deliveryId}:${attempt.attempt}`, {
            opened_at: closed.openedAt?.toISOString() ?? null,
            closed_at: new Date().toISOString(),
          });
        }
      }
    } else if (endpoint.circuitState === 'half_open') {
      if (await reopenCircuit(db, attempt.tenantId, attempt.endpointId, cooldownSeconds)) metrics.countCircuitTransition('open');
    } else if (endpoint.circuitState === 'closed' && failureThreshold > 0 && endpoint.consecutiveFailures >= failureThreshold) {
      const opened = await openCircuit(db, attempt.tenantId, attempt.endpointId, cooldownSeconds);
      if (opened) {
        metrics.countCircuitTransition('open');
        event('endpoint.circuit_opened', `circuit_opened:${attempt.endpointId}:${opened.openedAt.getTime()}`, {
          consecutive_failures: endpoint.consecutiveFailures,
          failure_threshold: failureThreshold,
          opened_at: opened.openedAt.toISOString(),
          next_probe_at: opened.nextProbeAt.toISOString(),
        });
      }
    }
    const failingSince = stored.health?.failingSince ?? null;
    const due = result.outcome === 'succeeded' ? [] : failingAlertsDue(failingSince, config.ENDPOINT_DISABLE_AFTER_SECONDS, endpoint.failingAlertedPercent, new Date());
    if (failingSince && due.length > 0 && !silent && (await advanceFailingAlert(db, attempt.tenantId, attempt.endpointId, endpoint.failingAlertedPercent, due.at(-1)!))) {
      for (const percent of due) {
        event('endpoint.failing', `failing:${attempt.endpointId}:${failingSince.getTime()}:${percent}`, {
          percent,
          failing_since: failingSince.toISOString(),
          disable_after_seconds: config.ENDPOINT_DISABLE_AFTER_SECONDS,
          last_delivery_id: attempt.deliveryId,
          last_response_status: result.responseStatus,
          last_error_class: result.errorClass,
        });
      }
    }
  }
  if (outcome.disabledFor !== null) {
    event('endpoint.disabled', `disabled:${attempt.deliveryId}:${attempt.attempt}`, {
      reason: outcome.disabledFor,
      failing_since: stored.health?.failingSince?.toISOString() ?? null,
      disabled_at: new Date().toISOString(),
    });
  }
  if (silent) return;
  for (const e of events) await emitOperationalEvent(deps, e);
}

/**
 * The delivery's end, when this attempt ended it: `delivery.exhausted` (the dead letter) or
 * `delivery.recovered` (a success after one). Unlike the endpoint's transitions, whether it is due
 * follows from the attempt alone, and its key names the delivery and attempt: so it is reported
 * by every run of the step that stored the attempt, a retried one too (the first may have stopped
 * between storing the attempt and storing the event), and stored once. Throws when the event
 * could not be stored, so the step is retried; its deliveries are started by the outbox sweep if
 * their start fails.
 */
export async function reportDeliveryEnd(
  deps: Pick<ActivityDeps, 'db' | 'log' | 'metrics'>,
  attempt: ReportedAttempt,
  outcome: { result: AttemptResult; deliveryStatus: AttemptDeliveryState },
  stored: Pick<StoredAttempt, 'endpoint' | 'previousDeliveryStatus'>,
): Promise<void> {
  const { result, deliveryStatus } = outcome;
  const exhausted = deliveryStatus === 'failed' && !STOPPED.has(result.errorClass ?? '');
  const recovered = deliveryStatus === 'succeeded' && stored.previousDeliveryStatus === 'failed';
  if (!exhausted && !recovered) return;
  // A retried step's statement changed nothing, so it did not return the endpoint: read it.
  const endpoint = stored.endpoint ?? (await endpointNaming(deps.db, attempt.tenantId, attempt.endpointId));
  if (!endpoint || endpoint.kind === 'operational') return;
  const data = {
    endpoint_id: attempt.endpointId,
    endpoint_name: endpoint.name,
    endpoint_url: endpoint.url,
    delivery_id: attempt.deliveryId,
    event_id: attempt.eventId,
    event_type: attempt.eventType,
  };
  const event: OperationalEvent = exhausted
    ? {
        tenantId: attempt.tenantId,
        type: 'delivery.exhausted',
        key: `exhausted:${attempt.deliveryId}:${attempt.attempt}`,
        data: { ...data, attempts: attempt.attempt, last_response_status: result.responseStatus, last_error_class: result.errorClass },
      }
    : {
        tenantId: attempt.tenantId,
        type: 'delivery.recovered',
        key: `recovered:${attempt.deliveryId}:${attempt.attempt}`,
        data: { ...data, attempt: attempt.attempt, recovered_at: new Date().toISOString() },
      };
  await emitOperationalEvent(deps, event, { throwIfNotStored: true });
}
