import { LRUCache } from 'lru-cache';
import type { KeyScope, KeyState } from '../domain/keys';
import type { SecretBox } from '../security/secret-box';
import type { Db } from './knex';

/** A decrypted key, only ever held in memory: inside an activity, at creation, or in {@link openKey}'s memo. */
export interface SigningKey {
  id: string;
  secret: string;
}

/** What may be shown about a key: never its material. */
export interface KeyMetadata {
  id: string;
  scope_type: KeyScope['type'];
  scope_id: string;
  state: KeyState;
  usage_count: number;
  created_at: Date;
  expires_at: Date | null;
  retired_at: Date | null;
}

const context = (scope: KeyScope, keyId: string) => `${scope.type}:${scope.id}:${keyId}`;

/** Keys a process keeps opened, and for how long after it last opened each. */
const OPENED_MAX = 1_000;
const OPENED_TTL_MS = 5 * 60_000;
const opened = new WeakMap<SecretBox, LRUCache<string, string>>();

/**
 * Opens a key read sealed (its material is bound to its scope and id). What it opened it
 * remembers, per box, by the sealed text and its context, for 5 minutes after the last use:
 * every attempt to an endpoint opens the same key, and in a busy worker an open took 60 µs at the
 * median (42 µs at p10; 4 µs when repeated in a tight loop, its caches warm), about 0.7 % of the
 * worker's CPU per delivery (docs/benchmark.md, forty-second session). A memo of a pure function:
 * a sealed text opens to one secret or to none (a tampered one throws, and is not remembered); a
 * key re-sealed under a new master key, or a new key, is another text. The process holds the
 * master keys that open every one of them anyway, so keeping a few opened adds nothing a reader
 * of its memory lacked.
 */
export function openKey(box: SecretBox, scope: KeyScope, row: { id: string; ciphertext: string }): SigningKey {
  let memo = opened.get(box);
  if (!memo) opened.set(box, (memo = new LRUCache<string, string>({ max: OPENED_MAX, ttl: OPENED_TTL_MS, updateAgeOnGet: true })));
  const bound = context(scope, row.id);
  const key = `${bound}\n${row.ciphertext}`;
  let secret = memo.get(key);
  if (secret === undefined) {
    secret = box.open(row.ciphertext, bound);
    memo.set(key, secret);
  }
  return { id: row.id, secret };
}
const METADATA = ['id', 'scope_type', 'scope_id', 'state', 'usage_count', 'created_at', 'expires_at', 'retired_at'] as const;

const ofScope = (db: Db, tenantId: string, scope: KeyScope) =>
  db('signing_keys').where({ tenant_id: tenantId, scope_type: scope.type, scope_id: scope.id });

function toMetadata(row: Record<string, unknown>): KeyMetadata {
  return { ...(row as unknown as KeyMetadata), usage_count: Number(row.usage_count) };
}

/**
 * Keys' usage counts: the row keeps the count from before migration 022 (and from the legacy
 * signing step), the attempts since add theirs to shard rows (see `storeAttempt`).
 */
async function withUses<T extends { id: string; usage_count: number }>(db: Db, keys: T[]): Promise<T[]> {
  if (keys.length === 0) return keys;
  const uses: Array<{ key_id: string; n: string | number }> = await db('signing_key_uses')
    .whereIn('key_id', keys.map((k) => k.id))
    .groupBy('key_id')
    .select('key_id', db.raw('sum(uses) as n'));
  const byId = new Map(uses.map((u) => [u.key_id, Number(u.n)]));
  return keys.map((k) => ({ ...k, usage_count: k.usage_count + (byId.get(k.id) ?? 0) }));
}

async function insertKey(db: Db, box: SecretBox, tenantId: string, scope: KeyScope, id: string, secret: string, state: KeyState) {
  await db('signing_keys')
    .insert({
      id,
      tenant_id: tenantId,
      scope_type: scope.type,
      scope_id: scope.id,
      state,
      ciphertext: box.seal(secret, context(scope, id)),
      master_key_id: box.keyId,
    })
    .onConflict('id')
    .ignore();
}

/** Stores a new active key for the scope under the caller's id, encrypted under the master key. */
export async function insertActiveKey(db: Db, box: SecretBox, tenantId: string, scope: KeyScope, id: string, secret: string): Promise<string> {
  await insertKey(db, box, tenantId, scope, id, secret, 'active');
  return id;
}

/**
 * Stores a generated key as `pending` under a caller-chosen id. Idempotent: a retry with the same
 * id keeps the material stored first.
 */
export async function insertPendingKey(db: Db, box: SecretBox, tenantId: string, scope: KeyScope, id: string, secret: string): Promise<void> {
  await insertKey(db, box, tenantId, scope, id, secret, 'pending');
}

const validNow = (db: Db) => (q: import('knex').Knex.QueryBuilder) =>
  q.where('state', 'active').orWhere((g) => g.where('state', 'grace').andWhere('expires_at', '>', db.fn.now()));

/**
 * Keys that sign or verify now: the active key first, then unexpired grace keys, newest first.
 * Pass `tenantId` to scope the lookup to a tenant (source ids are only unique per tenant).
 */
export async function loadValidKeys(db: Db, box: SecretBox, scope: KeyScope, tenantId?: string): Promise<SigningKey[]> {
  const query = db('signing_keys').select('id', 'state', 'ciphertext').where({ scope_type: scope.type, scope_id: scope.id });
  if (tenantId !== undefined) query.andWhere('tenant_id', tenantId);
  const rows: Array<{ id: string; ciphertext: string }> = await query
    .andWhere(validNow(db))
    .orderByRaw("case when state = 'active' then 0 else 1 end")
    .orderBy('created_at', 'desc');
  return rows.map((row) => ({ id: row.id, secret: box.open(row.ciphertext, context(scope, row.id)) }));
}

/** Counts signatures made with keys; returns the active key's count after this one. */
export async function incrementKeyUsage(db: Db, keyIds: string[]): Promise<Map<string, number>> {
  if (keyIds.length === 0) return new Map();
  const rows: Array<{ id: string; usage_count: string | number }> = await db('signing_keys')
    .whereIn('id', keyIds)
    .increment('usage_count', 1)
    .returning(['id', 'usage_count']);
  const counted = await withUses(db, rows.map((r) => ({ id: r.id, usage_count: Number(r.usage_count) })));
  return new Map(counted.map((r) => [r.id, r.usage_count]));
}

export interface KeyListFilter {
  scope?: KeyScope;
  state?: KeyState;
  limit: number;
  offset: number;
}

/** The tenant's keys, metadata only, newest first. */
export async function listKeys(db: Db, tenantId: string, filter: KeyListFilter): Promise<{ items: KeyMetadata[]; total: number }> {
  const query = () => {
    const q = db('signing_keys').where({ tenant_id: tenantId });
    if (filter.scope) q.andWhere({ scope_type: filter.scope.type, scope_id: filter.scope.id });
    if (filter.state) q.andWhere({ state: filter.state });
    return q;
  };
  const [rows, [{ count }]] = await Promise.all([
    query().select(METADATA).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).offset(filter.offset),
    query().count<{ count: string | number }[]>({ count: '*' }),
  ]);
  return { items: await withUses(db, rows.map(toMetadata)), total: Number(count) };
}

/** Valid keys with their material, for an audited export. */
export async function exportValidKeys(db: Db, box: SecretBox, tenantId: string, scope: KeyScope): Promise<Array<KeyMetadata & { secret: string }>> {
  const rows: Array<Record<string, unknown> & { ciphertext: string; id: string }> = await ofScope(db, tenantId, scope)
    .select([...METADATA, 'ciphertext'])
    .andWhere(validNow(db))
    .orderByRaw("case when state = 'active' then 0 else 1 end")
    .orderBy('created_at', 'desc');
  return withUses(
    db,
    rows.map(({ ciphertext, ...row }) => ({ ...toMetadata(row), secret: box.open(ciphertext, context(scope, row.id)) })),
  );
}

/** True while a rotation of the scope is in its grace period (an unexpired grace key exists). */
export async function rotationInProgress(db: Db, tenantId: string, scope: KeyScope): Promise<boolean> {
  const row = await ofScope(db, tenantId, scope).where('state', 'grace').andWhere('expires_at', '>', db.fn.now()).first('id');
  return row !== undefined;
}

export async function hasActiveKey(db: Db, tenantId: string, scope: KeyScope): Promise<boolean> {
  return (await ofScope(db, tenantId, scope).where('state', 'active').first('id')) !== undefined;
}

export type ActivateOut =
  | { status: 'activated'; oldKeyIds: string[]; expiresAt: string }
  | { status: 'skipped'; reason: 'rotation_in_progress' | 'already_rotated' | 'key_missing' };

/**
 * Makes a pending key the active one and moves the previous active key to `grace` until
 * `graceSeconds` from now, in one transaction holding the scope's rows. Grace keys already past
 * their expiry are retired first. Skipped (and the pending key retired) when another rotation is
 * still in its grace period, or when `expectedActiveKeyId` is no longer the active key.
 * Idempotent: a retry after success answers with the same outcome.
 */
export async function activatePendingKey(
  db: Db,
  tenantId: string,
  scope: KeyScope,
  keyId: string,
  graceSeconds: number,
  expectedActiveKeyId?: string,
): Promise<ActivateOut> {
  return db.transaction(async (trx) => {
    const rows: Array<{ id: string; state: KeyState; expires_at: Date | null }> = await ofScope(trx, tenantId, scope)
      .whereIn('state', ['pending', 'active', 'grace'])
      .select('id', 'state', 'expires_at')
      .forUpdate();
    const now = Date.now();
    const mine = rows.find((r) => r.id === keyId);
    if (!mine) return { status: 'skipped', reason: 'key_missing' };
    const graceOf = rows.filter((r) => r.state === 'grace');
    if (mine.state === 'active') {
      const latest = Math.max(...graceOf.map((r) => r.expires_at?.getTime() ?? now), now);
      return { status: 'activated', oldKeyIds: graceOf.map((r) => r.id), expiresAt: new Date(latest).toISOString() };
    }
    const expired = graceOf.filter((r) => (r.expires_at?.getTime() ?? 0) <= now).map((r) => r.id);
    if (expired.length > 0) await trx('signing_keys').whereIn('id', expired).update({ state: 'retired', retired_at: trx.fn.now() });
    const active = rows.filter((r) => r.state === 'active').map((r) => r.id);
    const skip = graceOf.length > expired.length ? 'rotation_in_progress' : expectedActiveKeyId && !active.includes(expectedActiveKeyId) ? 'already_rotated' : null;
    if (skip) {
      await trx('signing_keys').where({ id: keyId }).update({ state: 'retired', retired_at: trx.fn.now() });
      return { status: 'skipped', reason: skip };
    }
    const expiresAt = new Date(now + graceSeconds * 1000);
    if (active.length > 0) await trx('signing_keys').whereIn('id', active).update({ state: 'grace', expires_at: expiresAt });
    await trx('signing_keys').where({ id: keyId }).update({ state: 'active', usage_count: 0 });
    await trx('signing_key_uses').where({ key_id: keyId }).delete();
    return { status: 'activated', oldKeyIds: active, expiresAt: expiresAt.toISOString() };
  });
}

/** Retires keys of the scope (after their grace period); already retired keys are left alone. */
export async function retireKeys(db: Db, tenantId: string, scope: KeyScope, keyIds: string[]): Promise<number> {
  if (keyIds.length === 0) return 0;
  return ofScope(db, tenantId, scope)
    .whereIn('id', keyIds)
    .where('state', 'grace')
    .update({ state: 'retired', retired_at: db.fn.now(), expires_at: db.raw('least(expires_at, now())') });
}

/** A key whose material could not be re-sealed (sealed under a master key this process lacks). */
export interface ResealFailure {
  id: string;
  reason: string;
}

/**
 * Re-seals up to `limit` keys (any tenant, any state) not yet under the box's current master key,
 * in id order after `afterId`. Each row changes alone and only if it is still as read, so a run
 * can stop anywhere and be started again. Returns the last id looked at (null: none left).
 */
export async function resealSigningKeys(
  db: Db,
  box: SecretBox,
  afterId: string | null,
  limit: number,
): Promise<{ resealed: number; lastId: string | null; failures: ResealFailure[] }> {
  const query = db('signing_keys')
    .select('id', 'scope_type', 'scope_id', 'ciphertext')
    .where((q) => q.whereRaw('master_key_id is distinct from ?', [box.keyId]).orWhereRaw('ciphertext not like ?', [`${box.keyId}.%`]));
  if (afterId) query.andWhere('id', '>', afterId);
  const rows: Array<{ id: string; scope_type: KeyScope['type']; scope_id: string; ciphertext: string }> = await query.orderBy('id').limit(limit);
  let resealed = 0;
  const failures: ResealFailure[] = [];
  for (const row of rows) {
    try {
      const ciphertext = box.reseal(row.ciphertext, context({ type: row.scope_type, id: row.scope_id }, row.id));
      resealed += await db('signing_keys').where({ id: row.id, ciphertext: row.ciphertext }).update({ ciphertext, master_key_id: box.keyId });
    } catch (err) {
      failures.push({ id: row.id, reason: (err as Error).message });
    }
  }
  return { resealed, lastId: rows.at(-1)?.id ?? null, failures };
}
