import type { Db } from './knex';

export interface TenantSettings {
  /** Accept events whose type is not in the catalog (no schema to check). */
  allow_untyped_events: boolean;
}

export const DEFAULT_SETTINGS: TenantSettings = { allow_untyped_events: true };

/** The tenant's settings, defaults filled in. */
export async function tenantSettings(db: Db, tenantId: string): Promise<TenantSettings> {
  const row = await db('tenants').select('settings').where({ id: tenantId }).first();
  return { ...DEFAULT_SETTINGS, ...(row?.settings ?? {}) };
}

export async function updateTenantSettings(db: Db, tenantId: string, patch: Partial<TenantSettings>): Promise<TenantSettings> {
  const next = { ...(await tenantSettings(db, tenantId)), ...patch };
  await db('tenants').where({ id: tenantId }).update({ settings: JSON.stringify(next) });
  return next;
}
