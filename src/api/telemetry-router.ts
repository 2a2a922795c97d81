import { z } from 'zod';
import { listTelemetry } from '../db/telemetry-repo';
import type { AppDeps } from '../services/deps';
import { caller } from './auth';
import { RouteTable } from './route-table';

const telemetryQuery = z
  .object({
    trace_id: z.string().max(128).optional(),
    source: z.string().max(64).optional(),
    kind: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();

/** `/api/v1/telemetry`: telemetry records (inbound requests, key rotations), e.g. by trace id. */
export function telemetryRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/telemetry', 'telemetry');
  table.add({ method: 'get', path: '/', summary: 'Telemetry records, newest first', scope: 'telemetry:read', query: telemetryQuery }, async ({ query, res }) => ({
    items: await listTelemetry(deps.db, caller(res).tenantId, { traceId: query.trace_id, source: query.source, kind: query.kind, limit: query.limit }),
  }));
  return table;
}
