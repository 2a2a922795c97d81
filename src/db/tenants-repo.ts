import { DEFAULT_RETENTION_DAYS, type TenantState } from '../domain/tenant';
import { AppError, NotFoundError } from '../errors';
import { isUniqueViolation, type Db } from './knex';

/**
 * A tenant's own settings, changed by the tenant (`PATCH /settings`) or the platform
 * (`PATCH /tenants/:id`). Tenant-wide policies belong here (data retention is one), so both
 * routes and the tenant object carry them with no new plumbing.
 */
export interface TenantSettings {
  /** Accept events whose type is not in the catalog (no schema to check). */
  allow_untyped_events: boolean;
  /** Deliveries, attempts and events older than this many days are purged. */
  retention_days: number;
}

export const DEFAULT_SETTINGS: TenantSettings = { allow_untyped_events: true, retention_days: DEFAULT_RETENTION_DAYS };

export interface TenantRecord {
  id: string;
  name: string;
  external_id: string | null;
  metadata: Record<string, string>;
  settings: TenantSettings;
  status: TenantState;
  disabled_reason: string | null;
  disabled_at: Date | null;
  deleted_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = ['id', 'name', 'external_id', 'metadata', 'settings', 'status', 'disabled_reason', 'disabled_at', 'deleted_at', 'created_at', 'updated_at'] as const;

const withDefaults = (row: TenantRecord): TenantRecord => ({ ...row, settings: { ...DEFAULT_SETTINGS, ...(row.settings ?? {}) } });

/** A unique violation on `tenants` as the 409 a client can act on. */
function conflictFrom(err: unknown, input: { id?: string; external_id?: string | null }): never {
  if (isUniqueViolation(err)) {
    const constraint = String((err as { constraint?: unknown }).constraint ?? '');
    if (constraint.includes('external_id')) throw new AppError(409, 'external_id_taken', `external_id ${JSON.stringify(input.external_id)} belongs to another tenant`);
    throw new AppError(409, 'tenant_exists', `tenant ${input.id} already exists`);
  }
  throw err;
}

export async function insertTenant(
  db: Db,
  row: Pick<TenantRecord, 'id' | 'name' | 'external_id' | 'metadata' | 'settings'>,
): Promise<TenantRecord> {
  try {
    const [created] = await db('tenants')
      .insert({ ...row, metadata: JSON.stringify(row.metadata), settings: JSON.stringify(row.settings) })
      .returning(COLUMNS);
    return withDefaults(created as TenantRecord);
  } catch (err) {
    conflictFrom(err, row);
  }
}

/** One tenant, whatever its state; 404 when there is none. */
export async function getTenant(db: Db, id: string): Promise<TenantRecord> {
  const row = await db('tenants').select(COLUMNS).where({ id }).first();
  if (!row) throw new NotFoundError('tenant', id);
  return withDefaults(row as TenantRecord);
}

/** The same row locked for the rest of the transaction (state changes). */
export async function lockTenant(trx: Db, id: string): Promise<TenantRecord> {
  const row = await trx('tenants').select(COLUMNS).where({ id }).forUpdate().first();
  if (!row) throw new NotFoundError('tenant', id);
  return withDefaults(row as TenantRecord);
}

export interface TenantListFilter {
  status?: TenantState;
  externalId?: string;
  limit: number;
  offset: number;
}

/** Tenants, newest first, with the total that match. */
export async function listTenants(db: Db, filter: TenantListFilter): Promise<{ items: TenantRecord[]; total: number }> {
  const base = () => {
    const q = db('tenants');
    if (filter.status) q.where({ status: filter.status });
    if (filter.externalId) q.where({ external_id: filter.externalId });
    return q;
  };
  const [items, total] = await Promise.all([
    base().select(COLUMNS).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).offset(filter.offset),
    base().count<{ n: string }[]>({ n: '*' }).first(),
  ]);
  return { items: (items as TenantRecord[]).map(withDefaults), total: Number(total?.n ?? 0) };
}

export type TenantWrite = Partial<Pick<TenantRecord, 'name' | 'external_id' | 'metadata' | 'settings' | 'status' | 'disabled_reason' | 'disabled_at' | 'deleted_at'>>;

export async function updateTenant(db: Db, id: string, fields: TenantWrite): Promise<TenantRecord> {
  const row: Record<string, unknown> = { ...fields, updated_at: db.fn.now() };
  if (fields.metadata) row.metadata = JSON.stringify(fields.metadata);
  if (fields.settings) row.settings = JSON.stringify(fields.settings);
  try {
    const [updated] = await db('tenants').where({ id }).update(row).returning(COLUMNS);
    if (!updated) throw new NotFoundError('tenant', id);
    return withDefaults(updated as TenantRecord);
  } catch (err) {
    if (err instanceof NotFoundError) throw err;
    conflictFrom(err, { id, external_id: fields.external_id });
  }
}

/** The tenant's state, or null when it does not exist: what every credential is checked against. */
export async function tenantState(db: Db, id: string): Promise<TenantState | null> {
  const row = await db('tenants').select('status').where({ id }).first();
  return (row?.status as TenantState | undefined) ?? null;
}

/** The tenant's settings, defaults filled in. */
export async function tenantSettings(db: Db, tenantId: string): Promise<TenantSettings> {
  const row = await db('tenants').select('settings').where({ id: tenantId }).first();
  return { ...DEFAULT_SETTINGS, ...(row?.settings ?? {}) };
}

export async function updateTenantSettings(db: Db, tenantId: string, patch: Partial<TenantSettings>): Promise<TenantSettings> {
  const next = { ...(await tenantSettings(db, tenantId)), ...patch };
  await db('tenants').where({ id: tenantId }).update({ settings: JSON.stringify(next), updated_at: db.fn.now() });
  return next;
}
