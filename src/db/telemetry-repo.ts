import type { Db } from './knex';

/** Kinds of operational telemetry events. */
export type TelemetryKind = 'key_rotation' | 'inbound_request' | 'endpoint_disabled';

export interface TelemetryEvent {
  tenantId: string;
  kind: TelemetryKind;
  /** What emitted it, e.g. `keyRotationWorkflow`, or the inbound source id. */
  source: string;
  /** Never a secret. */
  details: Record<string, unknown>;
  /** The request's trace id (x-request-id), when a request caused it. */
  traceId?: string;
  /** Result code, for events that have one (`ok`, `bad_signature`, …). */
  result?: string;
  remoteAddr?: string;
}

export async function recordTelemetry(db: Db, event: TelemetryEvent): Promise<void> {
  await db('telemetry_events').insert({
    tenant_id: event.tenantId,
    kind: event.kind,
    source: event.source,
    details: JSON.stringify(event.details),
    trace_id: event.traceId ?? null,
    result: event.result ?? null,
    remote_addr: event.remoteAddr ?? null,
  });
}

/** The tenant's telemetry records, newest first, optionally by trace id, source and kind. */
export async function listTelemetry(
  db: Db,
  tenantId: string,
  filter: { traceId?: string; source?: string; kind?: string; limit: number },
): Promise<Array<Record<string, unknown>>> {
  const q = db('telemetry_events').where({ tenant_id: tenantId });
  if (filter.traceId) q.andWhere({ trace_id: filter.traceId });
  if (filter.source) q.andWhere({ source: filter.source });
  if (filter.kind) q.andWhere({ kind: filter.kind });
  const rows = await q.select('id', 'kind', 'source', 'trace_id', 'result', 'remote_addr', 'details', 'created_at').orderBy('id', 'desc').limit(filter.limit);
  return rows.map((r: Record<string, unknown>) => ({ ...r, id: Number(r.id) }));
}
