import { hotStatement, type Db } from './knex';
import { NotFoundError } from '../errors';
import type { Scope } from '../domain/scopes';
import type { TenantState } from '../domain/tenant';

export interface ApiKeyRecord {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  created_by: string | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const COLUMNS = ['id', 'tenant_id', 'name', 'prefix', 'scopes', 'created_by', 'created_at', 'expires_at', 'revoked_at', 'last_used_at'] as const;

export async function insertApiKey(
  db: Db,
  row: Omit<ApiKeyRecord, 'created_at' | 'revoked_at' | 'last_used_at'> & { hash: string },
): Promise<ApiKeyRecord> {
  const [created] = await db('api_keys').insert({ ...row, scopes: JSON.stringify(row.scopes) }).returning(COLUMNS);
  return created as ApiKeyRecord;
}

/** Every API request with a key runs it: fixed text, prepared once per connection. */
const USABLE_KEY = `
  select ${COLUMNS.map((c) => `k."${c}"`).join(', ')}, t.status as tenant_status
    from api_keys as k
    join tenants as t on t.id = k.tenant_id
   where k.hash = ? and k.revoked_at is null and (k.expires_at is null or k.expires_at > now())
   limit 1`;

/** The key with this hash if it is neither revoked nor expired, with its tenant's state (one query). */
export async function findUsableApiKey(db: Db, hash: string): Promise<(ApiKeyRecord & { tenant_status: TenantState }) | null> {
  const { rows } = (await hotStatement(db, USABLE_KEY, [hash])) as { rows: Array<ApiKeyRecord & { tenant_status: TenantState }> };
  return rows[0] ?? null;
}

/** Records use at most once a minute per key, so authentication is not a write per request. */
export async function touchApiKey(db: Db, id: string): Promise<void> {
  await db('api_keys')
    .where({ id })
    .andWhere((q) => q.whereNull('last_used_at').orWhereRaw("last_used_at < now() - interval '1 minute'"))
    .update({ last_used_at: db.fn.now() });
}

export async function listApiKeys(db: Db, tenantId: string, page: { limit: number; offset: number }) {
  const base = () => db('api_keys').where({ tenant_id: tenantId });
  const [items, total] = await Promise.all([
    base().select(COLUMNS).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).offset(page.offset),
    base().count<{ n: string }[]>({ n: '*' }).first(),
  ]);
  return { items: items as ApiKeyRecord[], total: Number(total?.n ?? 0) };
}

export async function getApiKey(db: Db, tenantId: string, id: string): Promise<ApiKeyRecord> {
  const row = await db('api_keys').select(COLUMNS).where({ tenant_id: tenantId, id }).first();
  if (!row) throw new NotFoundError('api key', id);
  return row as ApiKeyRecord;
}

export async function revokeApiKey(db: Db, tenantId: string, id: string): Promise<ApiKeyRecord> {
  const [row] = await db('api_keys')
    .where({ tenant_id: tenantId, id })
    .update({ revoked_at: db.raw('coalesce(revoked_at, now())') })
    .returning(COLUMNS);
  if (!row) throw new NotFoundError('api key', id);
  return row as ApiKeyRecord;
}
