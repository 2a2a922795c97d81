import type { PlatformScope } from '../domain/scopes';
import { NotFoundError } from '../errors';
import type { Db } from './knex';

/** A platform API key (`whp_…`): belongs to no tenant, holds platform scopes only. */
export interface PlatformKeyRecord {
  id: string;
  name: string;
  prefix: string;
  scopes: PlatformScope[];
  created_by: string | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const COLUMNS = ['id', 'name', 'prefix', 'scopes', 'created_by', 'created_at', 'expires_at', 'revoked_at', 'last_used_at'] as const;
const TABLE = 'platform_api_keys';

export async function insertPlatformKey(
  db: Db,
  row: Omit<PlatformKeyRecord, 'created_at' | 'revoked_at' | 'last_used_at'> & { hash: string },
): Promise<PlatformKeyRecord> {
  const [created] = await db(TABLE).insert({ ...row, scopes: JSON.stringify(row.scopes) }).returning(COLUMNS);
  return created as PlatformKeyRecord;
}

/** The key with this hash if it is neither revoked nor expired. */
export async function findUsablePlatformKey(db: Db, hash: string): Promise<PlatformKeyRecord | null> {
  const row = await db(TABLE)
    .select(COLUMNS)
    .where({ hash })
    .whereNull('revoked_at')
    .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', db.fn.now()))
    .first();
  return (row as PlatformKeyRecord | undefined) ?? null;
}

/** Records use at most once a minute per key. */
export async function touchPlatformKey(db: Db, id: string): Promise<void> {
  await db(TABLE)
    .where({ id })
    .andWhere((q) => q.whereNull('last_used_at').orWhereRaw("last_used_at < now() - interval '1 minute'"))
    .update({ last_used_at: db.fn.now() });
}

export async function listPlatformKeys(db: Db, page: { limit: number; offset: number }) {
  const [items, total] = await Promise.all([
    db(TABLE).select(COLUMNS).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).offset(page.offset),
    db(TABLE).count<{ n: string }[]>({ n: '*' }).first(),
  ]);
  return { items: items as PlatformKeyRecord[], total: Number(total?.n ?? 0) };
}

export async function getPlatformKey(db: Db, id: string): Promise<PlatformKeyRecord> {
  const row = await db(TABLE).select(COLUMNS).where({ id }).first();
  if (!row) throw new NotFoundError('platform key', id);
  return row as PlatformKeyRecord;
}

export async function revokePlatformKey(db: Db, id: string): Promise<PlatformKeyRecord> {
  const [row] = await db(TABLE).where({ id }).update({ revoked_at: db.raw('coalesce(revoked_at, now())') }).returning(COLUMNS);
  if (!row) throw new NotFoundError('platform key', id);
  return row as PlatformKeyRecord;
}
