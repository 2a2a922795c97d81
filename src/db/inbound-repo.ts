import type { Db } from './knex';
import { NotFoundError } from '../errors';

export interface SourceRecord {
  id: string;
  tenant_id: string;
  name: string;
  allowed_handlers: string[];
  default_handler: string;
  rate_limit_per_minute: number;
  tolerance_seconds: number;
  is_active: boolean;
  created_at: Date;
  updated_at: Date;
}

export type SourceWrite = Pick<SourceRecord, 'name' | 'allowed_handlers' | 'default_handler' | 'rate_limit_per_minute' | 'tolerance_seconds' | 'is_active'>;

const COLUMNS = ['id', 'tenant_id', 'name', 'allowed_handlers', 'default_handler', 'rate_limit_per_minute', 'tolerance_seconds', 'is_active', 'created_at', 'updated_at'] as const;
const live = (db: Db) => db('inbound_sources').whereNull('deleted_at');
const toRow = (w: Partial<SourceWrite>) => ({ ...w, ...(w.allowed_handlers ? { allowed_handlers: JSON.stringify(w.allowed_handlers) } : {}) });

export async function insertSource(db: Db, tenantId: string, id: string, w: SourceWrite): Promise<SourceRecord> {
  const [row] = await db('inbound_sources').insert({ ...toRow(w), id, tenant_id: tenantId }).returning(COLUMNS);
  return row as SourceRecord;
}

/** Any tenant's live source, by id: the guard learns the tenant from it. */
export async function findSource(db: Db, id: string): Promise<SourceRecord | null> {
  return ((await live(db).select(COLUMNS).where({ id }).first()) as SourceRecord | undefined) ?? null;
}

/** The live source owning a key id (for requests that name only `x-key-id`). */
export async function findSourceByKey(db: Db, keyId: string): Promise<SourceRecord | null> {
  const key = await db('signing_keys').select('scope_id').where({ id: keyId, scope_type: 'source' }).first();
  return key ? findSource(db, key.scope_id as string) : null;
}

export async function getSource(db: Db, tenantId: string, id: string): Promise<SourceRecord> {
  const row = await live(db).select(COLUMNS).where({ tenant_id: tenantId, id }).first();
  if (!row) throw new NotFoundError('source', id);
  return row as SourceRecord;
}

export async function listSources(db: Db, tenantId: string, page: { limit: number; offset: number }) {
  const base = () => live(db).where({ tenant_id: tenantId });
  const [items, total] = await Promise.all([
    base().select(COLUMNS).orderBy('created_at', 'desc').limit(page.limit).offset(page.offset),
    base().count<{ n: string }[]>({ n: '*' }).first(),
  ]);
  return { items: items as SourceRecord[], total: Number(total?.n ?? 0) };
}

export async function updateSource(db: Db, tenantId: string, id: string, w: Partial<SourceWrite>): Promise<SourceRecord> {
  const [row] = await live(db).where({ tenant_id: tenantId, id }).update({ ...toRow(w), updated_at: db.fn.now() }).returning(COLUMNS);
  if (!row) throw new NotFoundError('source', id);
  return row as SourceRecord;
}

export async function softDeleteSource(db: Db, tenantId: string, id: string): Promise<void> {
  const n = await live(db).where({ tenant_id: tenantId, id }).update({ deleted_at: db.fn.now(), is_active: false });
  if (n === 0) throw new NotFoundError('source', id);
}

/** Records a nonce; false when the source already used it (a replay). */
export async function recordNonce(db: Db, sourceId: string, nonce: string): Promise<boolean> {
  const rows = await db('inbound_nonces').insert({ source_id: sourceId, nonce }).onConflict(['source_id', 'nonce']).ignore().returning('nonce');
  return rows.length === 1;
}

export async function forgetNonce(db: Db, sourceId: string, nonce: string): Promise<void> {
  await db('inbound_nonces').where({ source_id: sourceId, nonce }).delete();
}

/** Counts a verified request in the source's current one-minute window; returns the count. */
export async function countInWindow(db: Db, sourceId: string, now: Date): Promise<number> {
  const windowStart = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  const result = await db.raw(
    `insert into inbound_rate_windows (source_id, window_start, count) values (?, ?, 1)
     on conflict (source_id, window_start) do update set count = inbound_rate_windows.count + 1
     returning count`,
    [sourceId, windowStart],
  );
  return Number(result.rows[0].count);
}
