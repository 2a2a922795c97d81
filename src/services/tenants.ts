import type { PlatformCaller } from '../domain/caller';
import { ROLE_SCOPES, type Scope } from '../domain/scopes';
import { recordAudit } from '../db/audit-repo';
import type { Db } from '../db/knex';
import { recordPlatformAudit, type PlatformAuditAction } from '../db/platform-audit-repo';
import { switchOffTenant } from '../db/tenant-purge-repo';
import { getTenant, insertTenant, lockTenant, updateTenant, DEFAULT_SETTINGS, type TenantRecord, type TenantSettings, type TenantWrite } from '../db/tenants-repo';
import { AppError, UnavailableError } from '../errors';
import { newId } from '../ids';
import { startTenantDeletion } from '../temporal/tenant-deletions';
import { apiKeyOut, createApiKey } from './api-keys';
import type { AppDeps } from './deps';

/** The public view of a tenant. */
export function tenantOut(t: TenantRecord) {
  return {
    id: t.id,
    name: t.name,
    external_id: t.external_id,
    metadata: t.metadata,
    settings: t.settings,
    status: t.status,
    disabled_reason: t.disabled_reason,
    disabled_at: t.disabled_at,
    deletion_requested_at: t.deleted_at,
    created_at: t.created_at,
    updated_at: t.updated_at,
  };
}

export interface TenantIn {
  id?: string;
  name: string;
  external_id?: string | null;
  metadata?: Record<string, string>;
  settings?: Partial<TenantSettings>;
  /** Mint the tenant's first admin API key with it, answered once. */
  admin_key?: boolean;
}

export interface TenantPatch {
  name?: string;
  external_id?: string | null;
  /** Replaces the whole map. */
  metadata?: Record<string, string>;
  /** Merged into the current settings, as `PATCH /settings` does. */
  settings?: Partial<TenantSettings>;
}

const audit = (who: PlatformCaller, action: PlatformAuditAction, tenantId: string, details?: Record<string, unknown>) => ({
  actor: who.actor,
  action,
  tenantId,
  resourceType: 'tenant' as const,
  resourceId: tenantId,
  traceId: who.traceId,
  details,
});

const deleting = (id: string) => new AppError(409, 'tenant_deleting', `tenant ${id} is being deleted`);

/** A tenant's key minted by the platform, audited in both logs (the tenant's and the platform's). */
async function mintKey(trx: Db, who: PlatformCaller, tenantId: string, input: { name: string; scopes: Scope[]; expiresAt: Date | null }) {
  const { key, record } = await createApiKey(trx, who, { tenantId, ...input });
  await recordPlatformAudit(trx, {
    ...audit(who, 'TenantApiKeyCreated', tenantId, { api_key_id: record.id, name: input.name, scopes: input.scopes }),
    resourceType: 'api_key',
    resourceId: record.id,
  });
  return { ...apiKeyOut(record), key };
}

/** Creates a tenant (409 `tenant_exists`, `external_id_taken`), with its first admin key when asked. */
export async function createTenant({ db }: Pick<AppDeps, 'db'>, who: PlatformCaller, input: TenantIn) {
  const id = input.id ?? newId('tn');
  return db.transaction(async (trx) => {
    const tenant = await insertTenant(trx, {
      id,
      name: input.name,
      external_id: input.external_id ?? null,
      metadata: input.metadata ?? {},
      settings: { ...DEFAULT_SETTINGS, ...input.settings },
    });
    await recordPlatformAudit(trx, audit(who, 'TenantCreated', id, { name: input.name, external_id: tenant.external_id }));
    const adminKey = input.admin_key ? await mintKey(trx, who, id, { name: 'admin', scopes: [...ROLE_SCOPES.admin], expiresAt: null }) : null;
    return { tenant, adminKey };
  });
}

/** Changes a tenant's name, external id, metadata or settings. */
export async function changeTenant({ db }: Pick<AppDeps, 'db'>, who: PlatformCaller, id: string, patch: TenantPatch): Promise<TenantRecord> {
  return db.transaction(async (trx) => {
    const current = await lockTenant(trx, id);
    if (current.status === 'deleting') throw deleting(id);
    const fields: TenantWrite = {};
    if (patch.name !== undefined) fields.name = patch.name;
    if (patch.external_id !== undefined) fields.external_id = patch.external_id;
    if (patch.metadata !== undefined) fields.metadata = patch.metadata;
    if (patch.settings !== undefined) fields.settings = { ...current.settings, ...patch.settings };
    const updated = await updateTenant(trx, id, fields);
    await recordPlatformAudit(trx, audit(who, 'TenantUpdated', id, { fields: Object.keys(patch) }));
    if (patch.settings !== undefined) {
      // The tenant's admins see in their own log that the platform changed their settings.
      await recordAudit(trx, { tenantId: id, actor: who.actor, traceId: who.traceId, action: 'SettingsUpdated', resourceType: 'tenant', resourceId: id, details: { fields: Object.keys(patch.settings) } });
    }
    return updated;
  });
}

/**
 * Disables or enables a tenant. Disabled, its credentials answer 403 `tenant_disabled` and its
 * inbound sources refuse requests; what it already accepted is still delivered. Idempotent.
 */
export async function setTenantEnabled({ db }: Pick<AppDeps, 'db'>, who: PlatformCaller, id: string, enabled: boolean, reason?: string): Promise<TenantRecord> {
  return db.transaction(async (trx) => {
    const current = await lockTenant(trx, id);
    if (current.status === 'deleting') throw deleting(id);
    if ((current.status === 'active') === enabled) return current;
    const updated = await updateTenant(
      trx,
      id,
      enabled ? { status: 'active', disabled_reason: null, disabled_at: null } : { status: 'disabled', disabled_reason: reason ?? null, disabled_at: new Date() },
    );
    await recordPlatformAudit(trx, audit(who, enabled ? 'TenantEnabled' : 'TenantDisabled', id, reason ? { reason } : {}));
    return updated;
  });
}

/**
 * Deletes a tenant. At once, in one transaction: it turns `deleting` (its credentials stop
 * resolving), every API key is revoked, every endpoint and source switched off, and the platform
 * audit log records it. Then the tenant's deletion workflow stops its running deliveries and key
 * rotations, deletes its auto-rotation schedules and purges its data. Repeating the call while it
 * runs joins the running deletion.
 */
export async function deleteTenant(deps: Pick<AppDeps, 'db' | 'temporal' | 'config' | 'log'>, who: PlatformCaller, id: string) {
  if (id === deps.config.DEFAULT_TENANT_ID) {
    throw new AppError(409, 'default_tenant', `tenant ${id} is DEFAULT_TENANT_ID (the bootstrap token acts for it) and cannot be deleted`);
  }
  const tenant = await deps.db.transaction(async (trx) => {
    const current = await lockTenant(trx, id);
    if (current.status === 'deleting') return current;
    const switchedOff = await switchOffTenant(trx, id, 'tenant deleted');
    const updated = await updateTenant(trx, id, { status: 'deleting', deleted_at: new Date() });
    await recordPlatformAudit(trx, audit(who, 'TenantDeleted', id, { name: current.name, external_id: current.external_id, switched_off: switchedOff }));
    return updated;
  });
  try {
    const workflowId = await startTenantDeletion(deps.temporal, deps.config.TEMPORAL_TASK_QUEUE, { tenantId: id, actor: who.actor, traceId: who.traceId });
    return { tenant, workflowId };
  } catch (err) {
    deps.log.error({ err, tenantId: id }, 'could not start the tenant deletion workflow');
    throw new UnavailableError(`tenant ${id} is switched off, but its deletion could not be started (Temporal unreachable); DELETE it again to finish`);
  }
}

/** Mints an API key of a tenant from the platform (its first admin key, typically); shown once. */
export async function createTenantApiKey(
  { db }: Pick<AppDeps, 'db'>,
  who: PlatformCaller,
  id: string,
  input: { name: string; scopes: Scope[]; expiresAt: Date | null },
): Promise<ReturnType<typeof apiKeyOut> & { key: string }> {
  const tenant = await getTenant(db, id);
  if (tenant.status === 'deleting') throw deleting(id);
  return db.transaction((trx) => mintKey(trx, who, id, input));
}
