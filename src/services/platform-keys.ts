import type { PlatformCaller } from '../domain/caller';
import type { PlatformScope } from '../domain/scopes';
import type { Db } from '../db/knex';
import { recordPlatformAudit } from '../db/platform-audit-repo';
import { insertPlatformKey, revokePlatformKey, type PlatformKeyRecord } from '../db/platform-keys-repo';
import { newId } from '../ids';
import { checkGrantable, mintKey } from './api-keys';

/** Platform keys look like `whp_<32 base64url chars>`: told apart from tenant keys (`whk_`) at a glance. */
export const PLATFORM_KEY_PREFIX = 'whp_';

/** The public view: never the key or its hash. */
export function platformKeyOut(key: PlatformKeyRecord) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    created_by: key.created_by,
    created_at: key.created_at,
    expires_at: key.expires_at,
    revoked_at: key.revoked_at,
    last_used_at: key.last_used_at,
    status: key.revoked_at ? 'revoked' : key.expires_at && key.expires_at.getTime() <= Date.now() ? 'expired' : 'active',
  };
}

/**
 * Creates a platform key; the plaintext is returned once. A platform caller can only grant the
 * scopes it holds; `null` is the CLI, acting as the operator of the machine.
 */
export async function createPlatformKey(
  db: Db,
  caller: PlatformCaller | null,
  input: { name: string; scopes: PlatformScope[]; expiresAt: Date | null },
): Promise<{ key: string; record: PlatformKeyRecord }> {
  checkGrantable(caller ? caller.scopes : null, input.scopes);
  const { key, prefix, hash } = mintKey(PLATFORM_KEY_PREFIX);
  return db.transaction(async (trx) => {
    const record = await insertPlatformKey(trx, {
      id: newId('pk'),
      name: input.name,
      prefix,
      hash,
      scopes: input.scopes,
      created_by: caller?.actor ?? 'cli',
      expires_at: input.expiresAt,
    });
    await recordPlatformAudit(trx, {
      actor: caller?.actor ?? 'cli',
      action: 'PlatformKeyCreated',
      tenantId: null,
      resourceType: 'platform_key',
      resourceId: record.id,
      traceId: caller?.traceId ?? null,
      details: { name: input.name, scopes: input.scopes },
    });
    return { key, record };
  });
}

export async function revokePlatformKeyAudited(db: Db, caller: PlatformCaller | null, id: string): Promise<PlatformKeyRecord> {
  return db.transaction(async (trx) => {
    const record = await revokePlatformKey(trx, id);
    await recordPlatformAudit(trx, { actor: caller?.actor ?? 'cli', action: 'PlatformKeyRevoked', tenantId: null, resourceType: 'platform_key', resourceId: id, traceId: caller?.traceId ?? null });
    return record;
  });
}
