import type { Db } from './knex';

/** Domain events written to the audit log (source doc 004). */
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
  | 'KeyAutoRotationDisabled';

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
