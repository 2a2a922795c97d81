import type { Caller } from '../domain/caller';
import { auditedBy, recordAudit } from '../db/audit-repo';
import { tenantSettings, updateTenantSettings, type TenantSettings } from '../db/tenants-repo';
import type { AppDeps } from './deps';

/** The caller's tenant settings. */
export async function readSettings({ db }: Pick<AppDeps, 'db'>, caller: Caller): Promise<TenantSettings> {
  return tenantSettings(db, caller.tenantId);
}

/** Changes some of the caller's tenant settings, audited with the fields changed. */
export async function changeSettings({ db }: Pick<AppDeps, 'db'>, caller: Caller, patch: Partial<TenantSettings>): Promise<TenantSettings> {
  return db.transaction(async (trx) => {
    const next = await updateTenantSettings(trx, caller.tenantId, patch);
    await recordAudit(trx, { ...auditedBy(caller), action: 'SettingsUpdated', resourceType: 'tenant', resourceId: caller.tenantId, details: { fields: Object.keys(patch) } });
    return next;
  });
}
