import type { CircuitState } from '../domain/circuit';
import type { Db } from './knex';

/**
 * An endpoint's circuit and failure alerts, changed by compare-and-set statements: when several
 * workers see the same transition, exactly one of them makes it (and reports it).
 */

/** Opens a closed circuit; the time it opened and when its probe may go, or null when it was not closed. */
export async function openCircuit(db: Db, tenantId: string, endpointId: string, cooldownSeconds: number): Promise<{ openedAt: Date; nextProbeAt: Date } | null> {
  const [row] = await db('endpoints')
    .where({ tenant_id: tenantId, id: endpointId, circuit_state: 'closed' })
    .update({
      circuit_state: 'open',
      circuit_opened_at: db.fn.now(),
      circuit_next_probe_at: db.raw(`now() + make_interval(secs => ?)`, [cooldownSeconds]),
    })
    .returning(['circuit_opened_at', 'circuit_next_probe_at']);
  return row ? { openedAt: new Date(row.circuit_opened_at), nextProbeAt: new Date(row.circuit_next_probe_at) } : null;
}

/**
 * Takes the probe of an open circuit whose cool-down is over (or of a half-open one whose probe's
 * hold lapsed): the circuit is half-open, held for `leaseMs`. True for the one caller that took it.
 */
export async function claimProbe(db: Db, tenantId: string, endpointId: string, leaseMs: number): Promise<boolean> {
  const changed = await db('endpoints')
    .where({ tenant_id: tenantId, id: endpointId })
    .whereIn('circuit_state', ['open', 'half_open'])
    .andWhereRaw('circuit_next_probe_at <= now()')
    .update({ circuit_state: 'half_open', circuit_next_probe_at: db.raw('now() + make_interval(secs => ?)', [leaseMs / 1000]) });
  return changed > 0;
}

/** A failed probe: the half-open circuit opens again for another cool-down. */
export async function reopenCircuit(db: Db, tenantId: string, endpointId: string, cooldownSeconds: number): Promise<boolean> {
  const changed = await db('endpoints')
    .where({ tenant_id: tenantId, id: endpointId, circuit_state: 'half_open' })
    .update({ circuit_state: 'open', circuit_next_probe_at: db.raw('now() + make_interval(secs => ?)', [cooldownSeconds]) });
  return changed > 0;
}

/** Closes an open or half-open circuit; when it had opened, or undefined when it was closed already. */
export async function closeCircuit(db: Db, tenantId: string, endpointId: string): Promise<{ openedAt: Date | null } | undefined> {
  const [row] = await db('endpoints')
    .where({ tenant_id: tenantId, id: endpointId })
    .whereNot('circuit_state', 'closed')
    .update({ circuit_state: 'closed', circuit_next_probe_at: null })
    .returning(['circuit_opened_at']);
  return row ? { openedAt: row.circuit_opened_at ? new Date(row.circuit_opened_at) : null } : undefined;
}

/**
 * Notes that the endpoint's current failure streak has been reported up to `percent`, if it was
 * reported up to `from` only (a success resets it to 0). True for the one caller that moved it.
 */
export async function advanceFailingAlert(db: Db, tenantId: string, endpointId: string, from: number, percent: number): Promise<boolean> {
  const changed = await db('endpoints')
    .where({ tenant_id: tenantId, id: endpointId, failing_alerted_percent: from })
    .whereNotNull('failing_since')
    .update({ failing_alerted_percent: percent });
  return changed > 0;
}

/** Live endpoints whose circuit is open or half-open, by state, all tenants (a partial index holds just those). */
export async function countCircuits(db: Db): Promise<Partial<Record<CircuitState, number>>> {
  const rows = await db('endpoints')
    .whereNot('circuit_state', 'closed')
    .whereNull('deleted_at')
    .select('circuit_state')
    .count<Array<{ circuit_state: CircuitState; count: string | number }>>({ count: '*' })
    .groupBy('circuit_state');
  return Object.fromEntries(rows.map((r) => [r.circuit_state, Number(r.count)]));
}
