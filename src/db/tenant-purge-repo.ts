import type { KeyScope } from '../domain/keys';
import type { Db } from './knex';

/**
 * Removing a tenant: first everything that acts for it is switched off (in the request that
 * deletes it), then its rows are deleted table by table, in an order the foreign keys allow.
 */

/** Revokes every API key and switches off every endpoint and source of the tenant. */
export async function switchOffTenant(trx: Db, tenantId: string, reason: string): Promise<{ apiKeys: number; endpoints: number; sources: number }> {
  const apiKeys = await trx('api_keys').where({ tenant_id: tenantId }).whereNull('revoked_at').update({ revoked_at: trx.fn.now() });
  const endpoints = await trx('endpoints')
    .where({ tenant_id: tenantId, is_active: true })
    .update({ is_active: false, disabled_reason: reason, updated_at: trx.fn.now() });
  const sources = await trx('inbound_sources').where({ tenant_id: tenantId, is_active: true }).update({ is_active: false, updated_at: trx.fn.now() });
  return { apiKeys, endpoints, sources };
}

/** Every key scope of the tenant that may have an auto-rotation schedule. */
export async function tenantKeyScopes(db: Db, tenantId: string): Promise<KeyScope[]> {
  const [policies, endpoints, sources] = await Promise.all([
    db('key_policies').select('scope_type', 'scope_id').where({ tenant_id: tenantId }),
    db('endpoints').select('id').where({ tenant_id: tenantId }).whereNull('deleted_at'),
    db('inbound_sources').select('id').where({ tenant_id: tenantId }).whereNull('deleted_at'),
  ]);
  const scopes = new Map<string, KeyScope>();
  const add = (scope: KeyScope) => scopes.set(`${scope.type}:${scope.id}`, scope);
  for (const p of policies as Array<{ scope_type: KeyScope['type']; scope_id: string }>) add({ type: p.scope_type, id: p.scope_id });
  for (const e of endpoints as Array<{ id: string }>) add({ type: 'endpoint', id: e.id });
  for (const s of sources as Array<{ id: string }>) add({ type: 'source', id: s.id });
  return [...scopes.values()];
}

/**
 * Tables holding a tenant's rows, children before parents. Nonces and rate windows belong to a
 * source, so they are found through the tenant's sources (before those go).
 */
export const PURGE_ORDER = [
  'attempts',
  'deliveries',
  'events',
  // After the rows they count: deleting those writes to them.
  'tenant_event_counts',
  'endpoint_delivery_counts',
  'endpoint_attempt_counts',
  'signing_key_uses',
  'recoveries',
  'signing_keys',
  'key_policies',
  'event_types',
  'api_keys',
  'portal_sessions',
  'inbound_nonces',
  'inbound_rate_windows',
  'inbound_sources',
  'endpoints',
  'telemetry_events',
  'audit_log',
] as const;
export type PurgedTable = (typeof PURGE_ORDER)[number];

/** Deletes up to `limit` of the tenant's rows from one table; answers how many went. */
export async function purgeTenantRows(db: Db, tenantId: string, table: PurgedTable, limit: number): Promise<number> {
  const owned =
    table === 'inbound_nonces' || table === 'inbound_rate_windows'
      ? db(table).select('ctid').whereIn('source_id', db('inbound_sources').select('id').where({ tenant_id: tenantId }))
      : db(table).select('ctid').where({ tenant_id: tenantId });
  // ctid = any(array(…)): a TID scan per batch, not a scan of the whole table.
  const page = owned.limit(limit).toSQL();
  const result = await db.raw(`delete from ?? where ctid = any(array(${page.sql}))`, [table, ...page.bindings]);
  return Number((result as { rowCount?: number }).rowCount ?? 0);
}

/** Removes the tenant's own row, once nothing refers to it. */
export async function deleteTenantRow(db: Db, tenantId: string): Promise<boolean> {
  return (await db('tenants').where({ id: tenantId, status: 'deleting' }).delete()) > 0;
}
