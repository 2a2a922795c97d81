import type { Db } from './knex';

/** Domain events written to the audit log. */
export type AuditAction =
  | 'SourceCreated'
  | 'SourceUpdated'
  | 'SourceDeleted'
  | 'WebhookCreated'
  | 'WebhookUpdated'
  | 'WebhookDeleted'
  | 'WebhookDisabled'
  | 'WebhookSecretRotated'
  | 'DeliveryCancelled'
  | 'DeliveryRedelivered'
  | 'ApiKeyCreated'
  | 'ApiKeyRevoked'
  | 'EventTypeCreated'
  | 'EventTypeUpdated'
  | 'EventTypeDeleted'
  | 'KeyCreated'
  | 'KeyRotationStarted'
  | 'KeyRotated'
  | 'KeyExported'
  | 'KeyAutoRotationConfigured'
  | 'KeyAutoRotationDisabled'
  | 'SettingsUpdated'
  | 'FifoHeadSkipped'
  | 'PortalLinkCreated'
  | 'PortalSessionOpened'
  | 'RecoveryStarted'
  | 'RecoveryCancelled';

export interface AuditEntry {
  tenantId: string;
  actor: string;
  action: AuditAction;
  resourceType: string;
  resourceId: string | null;
  traceId: string | null;
  /** Never a secret. */
  details?: Record<string, unknown>;
}

/** Who did it, as every audit entry records it: the caller's tenant, name and request id. */
export function auditedBy(who: { tenantId: string; actor: string; traceId: string }): Pick<AuditEntry, 'tenantId' | 'actor' | 'traceId'> {
  return { tenantId: who.tenantId, actor: who.actor, traceId: who.traceId };
}

export async function recordAudit(db: Db, entry: AuditEntry): Promise<void> {
  await db('audit_log').insert({
    tenant_id: entry.tenantId,
    actor: entry.actor,
    action: entry.action,
    resource_type: entry.resourceType,
    resource_id: entry.resourceId,
    trace_id: entry.traceId,
    details: JSON.stringify(entry.details ?? {}),
  });
}

/** The columns an audit entry is read back with, in export order. */
export const AUDIT_COLUMNS = ['id', 'created_at', 'actor', 'action', 'resource_type', 'resource_id', 'trace_id', 'details'] as const;

export interface AuditFilter {
  action?: string;
  resourceType?: string;
  resourceId?: string;
  actor?: string;
  since?: Date;
  until?: Date;
  limit: number;
  /** Keyset paging: entries older than this id (the page before's last). Takes no total. */
  beforeId?: bigint;
  /** Offset paging (with a total), for the first pages. */
  offset?: number;
}

/**
 * The tenant's audit entries, newest first. With `beforeId`, a keyset page (an index walk from
 * that id, as fast at the millionth entry as at the first); with `offset`, the matching total too.
 */
export async function listAudit(db: Db, tenantId: string, filter: AuditFilter): Promise<{ items: Array<Record<string, unknown>>; total: number | null }> {
  const base = () => {
    const q = db('audit_log').where({ tenant_id: tenantId });
    if (filter.action) q.andWhere({ action: filter.action });
    if (filter.resourceType) q.andWhere({ resource_type: filter.resourceType });
    if (filter.resourceId) q.andWhere({ resource_id: filter.resourceId });
    if (filter.actor) q.andWhere({ actor: filter.actor });
    if (filter.since) q.andWhere('created_at', '>=', filter.since);
    if (filter.until) q.andWhere('created_at', '<', filter.until);
    return q;
  };
  const page = base().select(AUDIT_COLUMNS).orderBy('id', 'desc').limit(filter.limit);
  if (filter.beforeId !== undefined) page.andWhere('id', '<', filter.beforeId.toString());
  else page.offset(filter.offset ?? 0);
  const [rows, total] = await Promise.all([page, filter.beforeId === undefined ? base().count<{ n: string }[]>({ n: '*' }).first() : null]);
  return {
    items: rows.map((r: Record<string, unknown>) => ({ ...r, id: Number(r.id) })),
    total: total === null ? null : Number(total?.n ?? 0),
  };
}
