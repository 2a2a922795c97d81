import type { Db } from './knex';
import { NotFoundError } from '../errors';
import type { RetryConfig } from '../../workflows/retry-policy';

/** An endpoint as stored, without its secret (that lives in `signing_keys`). */
export interface EndpointRecord {
  id: string;
  tenant_id: string;
  url: string;
  description: string | null;
  events: string[];
  retry_config: RetryConfig | null;
  is_active: boolean;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = [
  'id',
  'tenant_id',
  'url',
  'description',
  'events',
  'retry_config',
  'is_active',
  'created_at',
  'updated_at',
] as const;

export type NewEndpoint = Pick<EndpointRecord, 'id' | 'url' | 'description' | 'events' | 'retry_config'>;

export async function insertEndpoint(db: Db, tenantId: string, endpoint: NewEndpoint): Promise<EndpointRecord> {
  const [row] = await db('endpoints')
    .insert({
      ...endpoint,
      tenant_id: tenantId,
      events: JSON.stringify(endpoint.events),
      retry_config: endpoint.retry_config === null ? null : JSON.stringify(endpoint.retry_config),
    })
    .returning(COLUMNS);
  return row as EndpointRecord;
}

/** One live endpoint of the tenant; another tenant's or a deleted one is not found. */
export async function getEndpoint(db: Db, tenantId: string, id: string): Promise<EndpointRecord> {
  const row = await db('endpoints')
    .select(COLUMNS)
    .where({ tenant_id: tenantId, id })
    .whereNull('deleted_at')
    .first();
  if (!row) throw new NotFoundError('endpoint', id);
  return row as EndpointRecord;
}

export async function listEndpoints(
  db: Db,
  tenantId: string,
  page: { limit: number; offset: number },
): Promise<{ items: EndpointRecord[]; total: number }> {
  const live = () => db('endpoints').where({ tenant_id: tenantId }).whereNull('deleted_at');
  const [items, [{ count }]] = await Promise.all([
    live().select(COLUMNS).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).offset(page.offset),
    live().count<{ count: string | number }[]>({ count: '*' }),
  ]);
  return { items: items as EndpointRecord[], total: Number(count) };
}

/** Active, live endpoints of the tenant subscribed to `eventType` (directly or through `*`). */
export async function listSubscribedEndpoints(db: Db, tenantId: string, eventType: string): Promise<EndpointRecord[]> {
  const rows = await db('endpoints')
    .select(COLUMNS)
    .where({ tenant_id: tenantId, is_active: true })
    .whereNull('deleted_at')
    .andWhere((q) =>
      q
        .whereRaw('events @> ?::jsonb', [JSON.stringify([eventType])])
        .orWhereRaw('events @> ?::jsonb', [JSON.stringify(['*'])]),
    )
    .orderBy('id');
  return rows as EndpointRecord[];
}

/** Stops new deliveries to an endpoint (used when a receiver answers 410 Gone). */
export async function deactivateEndpoint(db: Db, tenantId: string, id: string): Promise<void> {
  await db('endpoints').where({ tenant_id: tenantId, id }).update({ is_active: false, updated_at: db.fn.now() });
}
