import type { Db } from './knex';
import type { PortalScope } from '../domain/scopes';
import type { TenantState } from '../domain/tenant';

/** A portal link, and once opened, its session. Hashes never leave the repository. */
export interface PortalSessionRecord {
  id: string;
  tenant_id: string;
  scopes: PortalScope[];
  read_only: boolean;
  session_seconds: number;
  created_by: string;
  created_at: Date;
  link_expires_at: Date;
  opened_at: Date | null;
  expires_at: Date | null;
  ended_at: Date | null;
}

const COLUMNS = ['id', 'tenant_id', 'scopes', 'read_only', 'session_seconds', 'created_by', 'created_at', 'link_expires_at', 'opened_at', 'expires_at', 'ended_at'] as const;

export async function insertPortalLink(
  db: Db,
  row: Pick<PortalSessionRecord, 'id' | 'tenant_id' | 'scopes' | 'read_only' | 'session_seconds' | 'created_by'> & { code_hash: string; link_seconds: number },
): Promise<PortalSessionRecord> {
  const { link_seconds, ...rest } = row;
  const [created] = await db('portal_sessions')
    .insert({ ...rest, scopes: JSON.stringify(row.scopes), link_expires_at: db.raw("now() + make_interval(secs => ?)", [link_seconds]) })
    .returning(COLUMNS);
  return created as PortalSessionRecord;
}

/**
 * Opens the link with this code hash, once: in one statement, so two browsers racing for one link
 * cannot both get a session. Null when it is unknown, used or expired.
 */
export async function openPortalLink(db: Db, codeHash: string, tokenHash: string): Promise<PortalSessionRecord | null> {
  const [row] = await db('portal_sessions')
    .where({ code_hash: codeHash })
    .whereNull('opened_at')
    .andWhere('link_expires_at', '>', db.fn.now())
    .update({ opened_at: db.fn.now(), token_hash: tokenHash, expires_at: db.raw('now() + make_interval(secs => session_seconds)') })
    .returning(COLUMNS);
  return (row as PortalSessionRecord | undefined) ?? null;
}

/** Why a link could not be opened: it was, already; it is past its time; or there is no such link. */
export async function portalLinkState(db: Db, codeHash: string): Promise<'used' | 'expired' | 'unknown'> {
  const row = await db('portal_sessions').select('opened_at').where({ code_hash: codeHash }).first();
  if (!row) return 'unknown';
  return (row as { opened_at: Date | null }).opened_at ? 'used' : 'expired';
}

/** The open session with this token hash, not ended nor expired, with its tenant's state. */
export async function findUsablePortalSession(db: Db, tokenHash: string): Promise<(PortalSessionRecord & { tenant_status: TenantState }) | null> {
  const row = await db('portal_sessions as s')
    .join('tenants as t', 't.id', 's.tenant_id')
    .select([...COLUMNS.map((c) => `s.${c}`), 't.status as tenant_status'])
    .where('s.token_hash', tokenHash)
    .whereNull('s.ended_at')
    .andWhere('s.expires_at', '>', db.fn.now())
    .first();
  return (row as (PortalSessionRecord & { tenant_status: TenantState }) | undefined) ?? null;
}

/** Ends a session (sign-out); idempotent. */
export async function endPortalSession(db: Db, tenantId: string, id: string): Promise<void> {
  await db('portal_sessions').where({ tenant_id: tenantId, id }).whereNull('ended_at').update({ ended_at: db.fn.now() });
}
