import type { Db } from './knex';

/** What the platform audit log records: actions on tenants and on platform keys. */
export type PlatformAuditAction =
  | 'TenantCreated'
  | 'TenantUpdated'
  | 'TenantDisabled'
  | 'TenantEnabled'
  | 'TenantDeleted'
  | 'TenantPurged'
  | 'TenantApiKeyCreated'
  | 'PlatformKeyCreated'
  | 'PlatformKeyRevoked';

export interface PlatformAuditEntry {
  actor: string;
  action: PlatformAuditAction;
  /** The tenant the entry is about; kept after the tenant is gone. */
  tenantId: string | null;
  resourceType: 'tenant' | 'api_key' | 'platform_key';
  resourceId: string | null;
  traceId: string | null;
  /** Never a secret. */
  details?: Record<string, unknown>;
}

export async function recordPlatformAudit(db: Db, entry: PlatformAuditEntry): Promise<void> {
  await db('platform_audit_log').insert({
    actor: entry.actor,
    action: entry.action,
    tenant_id: entry.tenantId,
    resource_type: entry.resourceType,
    resource_id: entry.resourceId,
    trace_id: entry.traceId,
    details: JSON.stringify(entry.details ?? {}),
  });
}

export interface PlatformAuditFilter {
  tenantId?: string;
  action?: string;
  since?: Date;
  until?: Date;
  limit: number;
  offset: number;
}

const COLUMNS = ['id', 'created_at', 'actor', 'action', 'tenant_id', 'resource_type', 'resource_id', 'trace_id', 'details'] as const;

/** Platform audit entries, newest first, with the total that match. */
export async function listPlatformAudit(db: Db, filter: PlatformAuditFilter): Promise<{ items: Array<Record<string, unknown>>; total: number }> {
  const base = () => {
    const q = db('platform_audit_log');
    if (filter.tenantId) q.where({ tenant_id: filter.tenantId });
    if (filter.action) q.where({ action: filter.action });
    if (filter.since) q.where('created_at', '>=', filter.since);
    if (filter.until) q.where('created_at', '<', filter.until);
    return q;
  };
  const [rows, total] = await Promise.all([
    base().select(COLUMNS).orderBy('id', 'desc').limit(filter.limit).offset(filter.offset),
    base().count<{ n: string }[]>({ n: '*' }).first(),
  ]);
  return { items: rows.map((r: Record<string, unknown>) => ({ ...r, id: Number(r.id) })), total: Number(total?.n ?? 0) };
}
