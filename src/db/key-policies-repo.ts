import type { Db } from './knex';
import type { KeyScope } from '../domain/keys';

/** A scope's auto-rotation settings; the schedule itself lives in Temporal. */
export interface KeyPolicy {
  tenant_id: string;
  scope_type: KeyScope['type'];
  scope_id: string;
  interval_seconds: number | null;
  grace_seconds: number;
  usage_threshold: number | null;
  enabled: boolean;
  schedule_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export type KeyPolicyWrite = Pick<KeyPolicy, 'interval_seconds' | 'grace_seconds' | 'usage_threshold' | 'enabled' | 'schedule_id'>;

const where = (tenantId: string, scope: KeyScope) => ({ tenant_id: tenantId, scope_type: scope.type, scope_id: scope.id });

function fromRow(row: Record<string, unknown> | undefined): KeyPolicy | null {
  if (!row) return null;
  return { ...(row as unknown as KeyPolicy), usage_threshold: row.usage_threshold === null ? null : Number(row.usage_threshold) };
}

export async function getKeyPolicy(db: Db, tenantId: string, scope: KeyScope): Promise<KeyPolicy | null> {
  return fromRow(await db('key_policies').where(where(tenantId, scope)).first());
}

/** Creates or replaces the scope's policy. */
export async function upsertKeyPolicy(db: Db, tenantId: string, scope: KeyScope, policy: KeyPolicyWrite): Promise<KeyPolicy> {
  const [row] = await db('key_policies')
    .insert({ ...where(tenantId, scope), ...policy })
    .onConflict(['tenant_id', 'scope_type', 'scope_id'])
    .merge({ ...policy, updated_at: db.fn.now() })
    .returning('*');
  return fromRow(row)!;
}

export async function setKeyPolicyEnabled(db: Db, tenantId: string, scope: KeyScope, enabled: boolean): Promise<void> {
  await db('key_policies').where(where(tenantId, scope)).update({ enabled, updated_at: db.fn.now() });
}

export async function deleteKeyPolicy(db: Db, tenantId: string, scope: KeyScope): Promise<void> {
  await db('key_policies').where(where(tenantId, scope)).delete();
}

/** The usage threshold in force for a scope, or null when none is (disabled or unset). */
export async function activeUsageThreshold(db: Db, tenantId: string, scope: KeyScope): Promise<{ threshold: number; graceSeconds: number } | null> {
  const row = await db('key_policies')
    .where(where(tenantId, scope))
    .andWhere('enabled', true)
    .whereNotNull('usage_threshold')
    .first('usage_threshold', 'grace_seconds');
  return row ? { threshold: Number(row.usage_threshold), graceSeconds: row.grace_seconds } : null;
}
