import type { EndpointAfterAttempt, StoredAttempt } from '../src/db/attempts-repo';
import type { DisabledByAttempt } from '../src/db/endpoints-repo';
import type { Db } from '../src/db/knex';
import { advanceFailingAlert, closeCircuit, openCircuit, reopenCircuit } from '../src/db/endpoint-circuit-repo';
import type { AttemptDeliveryState, AttemptResult } from '../src/domain/delivery';
import { failingAlertsDue } from '../src/domain/operational-events';
import type { ActivityDeps } from './deps';
import { attemptKey, reachedReceiver } from './endpoint-health';
import { emitOperationalEvent, startOperationalEvent, storeOperationalEvent, type OperationalEvent, type StoredOperationalEvent } from './operational-events';

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
 * `_closed`, and `endpoint.failing` at each share of the disable threshold. The ends, the
 * endpoint's and the delivery's, are {@link reportEnds}'. An attempt to an operational endpoint
 * never reports anything, so operational deliveries cannot cause operational events (no loops).
 * A successful attempt to an endpoint whose circuit is closed costs nothing here.
 *
 * Each change commits together with the events it causes. Stored apart, an event could be lost
 * between the two (a crash, the database gone for a moment), and the change, made, would never
 * cause it again; rolled back together, the next attempt makes the change and reports it.
 */
export async function reportAttempt(
  deps: Pick<ActivityDeps, 'db' | 'log' | 'metrics' | 'config'>,
  attempt: ReportedAttempt,
  result: AttemptResult,
  stored: StoredAttempt,
): Promise<void> {
  const endpoint = stored.endpoint;
  if (!stored.inserted || !endpoint || !reachedReceiver(result)) return;
  const { db, metrics, config } = deps;
  const silent = endpoint.kind === 'operational';
  const named = namedEndpoint(attempt, endpoint);
  const event = (type: OperationalEvent['type'], key: string, data: Record<string, unknown>): OperationalEvent =>
    ({ tenantId: attempt.tenantId, type, key, data: { ...named, ...data } });
  /** Makes `change` and stores the events it causes in one transaction, then starts their deliveries; null when nothing changed. */
  const transition = async <T>(change: (trx: Db) => Promise<T | null | undefined | false>, eventsOf: (changed: T) => OperationalEvent[]): Promise<T | null> => {
    const done = await db.transaction(async (trx) => {
      const changed = await change(trx);
      if (changed === null || changed === undefined || changed === false) return null;
      const events: StoredOperationalEvent[] = [];
      for (const e of silent ? [] : eventsOf(changed)) {
        const kept = await storeOperationalEvent(trx, e);
        if (kept) events.push(kept);
      }
      return { changed, events };
    });
    if (!done) return null;
    for (const e of done.events) await startOperationalEvent(deps, e);
    return done.changed;
  };

  const { failureThreshold, cooldownSeconds } = circuitSettings(config, endpoint);
  if (result.outcome === 'succeeded') {
    if (endpoint.circuitState !== 'closed') {
      const closed = await transition(
        (trx) => closeCircuit(trx, attempt.tenantId, attempt.endpointId),
        (was) => [event('endpoint.circuit_closed', `circuit_closed:${attemptKey(attempt)}`, { opened_at: was.openedAt?.toISOString() ?? null, closed_at: new Date().toISOString() })],
      );
      if (closed) metrics.countCircuitTransition('closed');
    }
  } else if (endpoint.circuitState === 'half_open') {
    if (await reopenCircuit(db, attempt.tenantId, attempt.endpointId, cooldownSeconds)) metrics.countCircuitTransition('open');
  } else if (endpoint.circuitState === 'closed' && failureThreshold > 0 && endpoint.consecutiveFailures >= failureThreshold) {
    const opened = await transition(
      (trx) => openCircuit(trx, attempt.tenantId, attempt.endpointId, cooldownSeconds),
      (now) => [
        event('endpoint.circuit_opened', `circuit_opened:${attempt.endpointId}:${now.openedAt.getTime()}`, {
          consecutive_failures: endpoint.consecutiveFailures,
          failure_threshold: failureThreshold,
          opened_at: now.openedAt.toISOString(),
          next_probe_at: now.nextProbeAt.toISOString(),
        }),
      ],
    );
    if (opened) metrics.countCircuitTransition('open');
  }
  const failingSince = stored.health?.failingSince ?? null;
  const due = result.outcome === 'succeeded' ? [] : failingAlertsDue(failingSince, config.ENDPOINT_DISABLE_AFTER_SECONDS, endpoint.failingAlertedPercent, new Date());
  if (failingSince && due.length > 0 && !silent) {
    await transition(
      (trx) => advanceFailingAlert(trx, attempt.tenantId, attempt.endpointId, endpoint.failingAlertedPercent, due.at(-1)!),
      () =>
        due.map((percent) =>
          event('endpoint.failing', `failing:${attempt.endpointId}:${failingSince.getTime()}:${percent}`, {
            percent,
            failing_since: failingSince.toISOString(),
            disable_after_seconds: config.ENDPOINT_DISABLE_AFTER_SECONDS,
            last_delivery_id: attempt.deliveryId,
            last_response_status: result.responseStatus,
            last_error_class: result.errorClass,
          }),
        ),
    );
  }
}

/** How operational events name the attempt's endpoint. */
function namedEndpoint(attempt: ReportedAttempt, endpoint: Pick<EndpointAfterAttempt, 'name' | 'url'>) {
  return { endpoint_id: attempt.endpointId, endpoint_name: endpoint.name, endpoint_url: endpoint.url };
}

/**
 * The ends this attempt caused: `endpoint.disabled` when it switched its endpoint off
 * (`disabled`), `delivery.exhausted` when it left the delivery in the dead letter, and
 * `delivery.recovered` for a success right after one. Unlike the endpoint's other transitions,
 * each is known again by a retried run of the step that stored the attempt (the endpoint keeps
 * which attempt disabled it, the delivery's verdicts are the attempt's own), and each key names
 * the attempt: so every run of the step reports them, a retried one too (the first may have
 * stopped between storing the attempt and storing the event), and each is stored once. Throws
 * when an event could not be stored, so the step is retried; deliveries of a stored event whose
 * start failed are started by the outbox sweep.
 */
export async function reportEnds(
  deps: Pick<ActivityDeps, 'db' | 'log' | 'metrics'>,
  attempt: ReportedAttempt,
  outcome: { result: AttemptResult; deliveryStatus: AttemptDeliveryState; disabled: DisabledByAttempt | null; previousDeliveryStatus: string | null },
  /** As the attempt's statement returned it, or as a retried step read it; null when it is gone. */
  endpoint: Pick<EndpointAfterAttempt, 'kind' | 'name' | 'url'> | null,
): Promise<void> {
  const { result, deliveryStatus, disabled } = outcome;
  const exhausted = deliveryStatus === 'failed' && !STOPPED.has(result.errorClass ?? '');
  const recovered = deliveryStatus === 'succeeded' && outcome.previousDeliveryStatus === 'failed';
  if (!disabled && !exhausted && !recovered) return;
  if (!endpoint || endpoint.kind === 'operational') return;
  const key = attemptKey(attempt);
  const named = namedEndpoint(attempt, endpoint);
  const delivery = { ...named, delivery_id: attempt.deliveryId, event_id: attempt.eventId, event_type: attempt.eventType };
  const events: OperationalEvent[] = [];
  if (disabled) {
    const data = { ...named, reason: disabled.reason, failing_since: disabled.failingSince?.toISOString() ?? null, disabled_at: new Date().toISOString() };
    events.push({ tenantId: attempt.tenantId, type: 'endpoint.disabled', key: `disabled:${key}`, data });
  }
  if (exhausted) {
    const data = { ...delivery, attempts: attempt.attempt, last_response_status: result.responseStatus, last_error_class: result.errorClass };
    events.push({ tenantId: attempt.tenantId, type: 'delivery.exhausted', key: `exhausted:${key}`, data });
  }
  if (recovered) {
    const data = { ...delivery, attempt: attempt.attempt, recovered_at: new Date().toISOString() };
    events.push({ tenantId: attempt.tenantId, type: 'delivery.recovered', key: `recovered:${key}`, data });
  }
  for (const event of events) await emitOperationalEvent(deps, event, { throwIfNotStored: true });
}
