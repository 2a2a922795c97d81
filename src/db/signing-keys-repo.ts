import type { Db } from './knex';
import { newId } from '../ids';
import type { SecretBox } from '../security/secret-box';

export type KeyScope = { type: 'endpoint' | 'source'; id: string };

/** A decrypted key, only ever held in memory inside an activity or at creation. */
export interface SigningKey {
  id: string;
  secret: string;
}

const context = (scope: KeyScope, keyId: string) => `${scope.type}:${scope.id}:${keyId}`;

/** Stores a new active key for the scope, encrypted under the master key. */
export async function insertActiveKey(
  db: Db,
  box: SecretBox,
  tenantId: string,
  scope: KeyScope,
  secret: string,
): Promise<string> {
  const id = newId('key');
  await db('signing_keys').insert({
    id,
    tenant_id: tenantId,
    scope_type: scope.type,
    scope_id: scope.id,
    state: 'active',
    ciphertext: box.seal(secret, context(scope, id)),
    master_key_id: box.keyId,
  });
  return id;
}

/** Keys that sign or verify now: the active key first, then unexpired grace keys. */
export async function loadValidKeys(db: Db, box: SecretBox, scope: KeyScope): Promise<SigningKey[]> {
  const rows: Array<{ id: string; state: string; ciphertext: string }> = await db('signing_keys')
    .select('id', 'state', 'ciphertext')
    .where({ scope_type: scope.type, scope_id: scope.id })
    .andWhere((q) =>
      q.where('state', 'active').orWhere((g) => g.where('state', 'grace').andWhere('expires_at', '>', db.fn.now())),
    )
    .orderByRaw("case when state = 'active' then 0 else 1 end")
    .orderBy('created_at', 'desc');
  return rows.map((row) => ({ id: row.id, secret: box.open(row.ciphertext, context(scope, row.id)) }));
}

/** Counts signatures made with a key (feeds usage-based rotation). */
export async function incrementKeyUsage(db: Db, keyIds: string[]): Promise<void> {
  if (keyIds.length === 0) return;
  await db('signing_keys').whereIn('id', keyIds).increment('usage_count', 1);
}
