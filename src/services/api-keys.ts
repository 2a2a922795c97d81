import { createHash, randomBytes } from 'node:crypto';
import type { Caller, PlatformCaller } from '../domain/caller';
import { recordAudit } from '../db/audit-repo';
import { insertApiKey, revokeApiKey, type ApiKeyRecord } from '../db/api-keys-repo';
import type { Db } from '../db/knex';
import { ForbiddenError } from '../errors';
import { newId } from '../ids';
import { ROLE_SCOPES, type Role, type Scope } from '../domain/scopes';

/** Plaintext keys look like `whk_<32 base64url chars>`; the first 12 characters are shown in lists. */
export const API_KEY_PREFIX = 'whk_';
const DISPLAY_PREFIX_LENGTH = 12;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new key: `prefix` and 24 random bytes. Answers the key (shown once), what may be shown of it, and its hash. */
export function mintKey(prefix: string): { key: string; prefix: string; hash: string } {
  const key = prefix + randomBytes(24).toString('base64url');
  return { key, prefix: key.slice(0, DISPLAY_PREFIX_LENGTH), hash: hashApiKey(key) };
}

/** A key may carry only scopes its granter holds (null: the command line, which may grant any). */
export function checkGrantable(held: ReadonlySet<string> | null, wanted: readonly string[]): void {
  const missing = held ? wanted.filter((s) => !held.has(s)) : [];
  if (missing.length > 0) throw new ForbiddenError(`cannot grant scopes you do not hold: ${missing.join(', ')}`);
}

/** The public view: never the key or its hash. */
export function apiKeyOut(key: ApiKeyRecord) {
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

/** Scopes from an explicit list or a role. */
export function resolveScopes(input: { scopes?: Scope[]; role?: Role }): Scope[] {
  return [...new Set(input.scopes ?? ROLE_SCOPES[input.role ?? 'viewer'])];
}

/**
 * Who mints a key: a tenant caller, which can only grant scopes it holds; the platform, minting a
 * tenant's keys from outside it (any tenant scope); or `null`, the CLI acting as the operator of
 * the machine.
 */
export type KeyGrantor = Caller | PlatformCaller | null;

/** Creates an API key; the plaintext is returned once. */
export async function createApiKey(
  db: Db,
  caller: KeyGrantor,
  input: { tenantId: string; name: string; scopes: Scope[]; expiresAt: Date | null },
): Promise<{ key: string; record: ApiKeyRecord }> {
  checkGrantable(caller !== null && caller.tenantId !== null ? caller.scopes : null, input.scopes);
  const { key, prefix, hash } = mintKey(API_KEY_PREFIX);
  return db.transaction(async (trx) => {
    const record = await insertApiKey(trx, {
      id: newId('ak'),
      tenant_id: input.tenantId,
      name: input.name,
      prefix,
      hash,
      scopes: input.scopes,
      created_by: caller?.actor ?? 'cli',
      expires_at: input.expiresAt,
    });
    await recordAudit(trx, {
      tenantId: input.tenantId,
      actor: caller?.actor ?? 'cli',
      traceId: caller?.traceId ?? null,
      action: 'ApiKeyCreated',
      resourceType: 'api_key',
      resourceId: record.id,
      details: { name: input.name, scopes: input.scopes },
    });
    return { key, record };
  });
}

export async function revokeKey(db: Db, caller: Caller | null, tenantId: string, id: string): Promise<ApiKeyRecord> {
  return db.transaction(async (trx) => {
    const record = await revokeApiKey(trx, tenantId, id);
    await recordAudit(trx, {
      tenantId,
      actor: caller?.actor ?? 'cli',
      traceId: caller?.traceId ?? null,
      action: 'ApiKeyRevoked',
      resourceType: 'api_key',
      resourceId: id,
    });
    return record;
  });
}
