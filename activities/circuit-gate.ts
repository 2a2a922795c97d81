import type { AttemptContext } from '../src/db/attempt-context-repo';
import { claimProbe } from '../src/db/endpoint-circuit-repo';
import { halfOpenPollMs, probeLeaseMs } from '../src/domain/circuit';
import type { ActivityDeps } from './deps';
import type { AttemptStep, DeliverAttemptIn } from './types';

/** Waits on a circuit are spread over this much, so the deliveries behind one do not wake together. */
const WAKE_SPREAD_MS = 1_000;

/**
 * The gate of an endpoint whose circuit is not closed: the wait this attempt takes (durably, in
 * the workflow) before it asks again, or null when it goes out as the circuit's probe. An open
 * circuit waits out its cool-down; once it is over, one attempt takes the probe (the circuit is
 * half-open) and the others look again shortly, until the probe closes or reopens it.
 */
export async function circuitGate(
  { db, config, metrics }: Pick<ActivityDeps, 'db' | 'config' | 'metrics'>,
  input: DeliverAttemptIn,
  endpoint: AttemptContext['endpoint'],
): Promise<Extract<AttemptStep, { kind: 'wait' }> | null> {
  const cooldownSeconds = endpoint.circuitCooldownSeconds ?? config.CIRCUIT_COOLDOWN_SECONDS;
  const spread = Math.round(Math.random() * WAKE_SPREAD_MS);
  const wait = (waitMs: number) => {
    metrics.countCircuitWait();
    return { kind: 'wait' as const, waitMs: waitMs + spread, unreserved: true as const, reason: 'circuit' as const };
  };
  if (endpoint.circuitWaitMs > 0) return wait(endpoint.circuitState === 'open' ? endpoint.circuitWaitMs : Math.min(endpoint.circuitWaitMs, halfOpenPollMs(cooldownSeconds)));
  const timeoutMs = endpoint.retryConfig?.timeout_ms ?? config.DELIVERY_TIMEOUT_MS;
  if (await claimProbe(db, input.tenantId, input.endpointId, probeLeaseMs(timeoutMs))) {
    metrics.countCircuitTransition('half_open');
    return null;
  }
  return wait(halfOpenPollMs(cooldownSeconds));
}
