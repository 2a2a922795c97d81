/**
 * Circuit breaking. After `failure_threshold` consecutive failed attempts to an endpoint its
 * circuit opens: deliveries to it wait (durable timers) for the cool-down, then one attempt goes
 * out as a probe (the circuit is half-open meanwhile). A success closes the circuit; a failed
 * probe opens it for another cool-down.
 */
export const CIRCUIT_STATES = ['closed', 'open', 'half_open'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

/** An endpoint's own setting; absent: the service defaults (CIRCUIT_FAILURE_THRESHOLD, CIRCUIT_COOLDOWN_SECONDS). */
export interface CircuitBreakerConfig {
  /** Consecutive failed attempts that open the circuit; 0 turns circuit breaking off for the endpoint. */
  failure_threshold: number;
  /** How long an open circuit waits before its probe. */
  cooldown_seconds: number;
}

export const MAX_FAILURE_THRESHOLD = 10_000;
export const MAX_COOLDOWN_SECONDS = 86_400;

/** How long a probe holds the half-open circuit before another delivery may probe (its worker may have died). */
export function probeLeaseMs(timeoutMs: number): number {
  return timeoutMs + 30_000;
}

/** How often a delivery looks again while another one probes (the probe is one request: short). */
export function halfOpenPollMs(cooldownSeconds: number): number {
  return Math.min(cooldownSeconds * 1000, 5_000);
}
