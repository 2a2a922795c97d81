import type { Db } from './knex';

/** Kinds of operational telemetry events. */
export type TelemetryKind = 'key_rotation';

export interface TelemetryEvent {
  tenantId: string;
  kind: TelemetryKind;
  /** What emitted it, e.g. `keyRotationWorkflow`. */
  source: string;
  /** Never a secret. */
  details: Record<string, unknown>;
}

export async function recordTelemetry(db: Db, event: TelemetryEvent): Promise<void> {
  await db('telemetry_events').insert({
    tenant_id: event.tenantId,
    kind: event.kind,
    source: event.source,
    details: JSON.stringify(event.details),
  });
}
