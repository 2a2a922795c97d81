import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Caller } from '../domain/caller';
import { PORTAL_READ_SCOPES, PORTAL_SCOPES, type PortalScope } from '../domain/scopes';
import { auditedBy, recordAudit } from '../db/audit-repo';
import type { Db } from '../db/knex';
import { findUsablePortalSession, insertPortalLink, openPortalLink, portalLinkState, type PortalSessionRecord } from '../db/portal-sessions-repo';
import type { TenantState } from '../domain/tenant';
import { ForbiddenError } from '../errors';
import { newId } from '../ids';
import type { SecretBox } from '../security/secret-box';

/** Session lifetime when a link does not say (seconds), and the longest allowed. */
export const DEFAULT_SESSION_SECONDS = 3600;
export const MAX_SESSION_SECONDS = 86_400;
/** How long a link may wait to be opened, by default and at most (seconds). */
export const DEFAULT_LINK_SECONDS = 900;
export const MAX_LINK_SECONDS = 86_400;

/** The cookie that carries a portal session: httpOnly, SameSite=Strict, path /portal. */
export const PORTAL_COOKIE = 'portal_session';
/** The header a portal write must carry: the session's CSRF token from `GET /portal/api/session`. */
export const CSRF_HEADER = 'x-portal-csrf';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

export interface PortalLinkIn {
  expires_in?: number;
  link_expires_in?: number;
  scopes?: PortalScope[];
  read_only?: boolean;
}

/** The portal scopes a link grants: asked for (and held by its creator), else all the creator holds; read-only keeps the reading ones. */
export function portalScopes(creator: ReadonlySet<string>, input: Pick<PortalLinkIn, 'scopes' | 'read_only'>): PortalScope[] {
  const asked = input.scopes ? [...new Set(input.scopes)] : PORTAL_SCOPES.filter((s) => creator.has(s));
  const missing = asked.filter((s) => !creator.has(s));
  if (missing.length > 0) throw new ForbiddenError(`cannot grant scopes you do not hold: ${missing.join(', ')}`);
  const granted = input.read_only ? asked.filter((s) => PORTAL_READ_SCOPES.includes(s)) : asked;
  if (granted.length === 0) throw new ForbiddenError(`a portal link needs at least one of ${(input.read_only ? PORTAL_READ_SCOPES : PORTAL_SCOPES).join(', ')}, held by this credential`);
  return granted;
}

/**
 * Makes a one-time portal link for the caller's tenant. The code is answered once, inside the
 * URL; only its hash is stored.
 */
export async function createPortalLink(db: Db, who: Caller, input: PortalLinkIn, baseUrl: string) {
  const scopes = portalScopes(who.scopes, input);
  const code = randomBytes(32).toString('base64url');
  const sessionSeconds = input.expires_in ?? DEFAULT_SESSION_SECONDS;
  const readOnly = input.read_only ?? false;
  return db.transaction(async (trx) => {
    const link = await insertPortalLink(trx, {
      id: newId('ps'),
      tenant_id: who.tenantId,
      code_hash: sha256(code),
      scopes,
      read_only: readOnly,
      session_seconds: sessionSeconds,
      link_seconds: Math.min(input.link_expires_in ?? DEFAULT_LINK_SECONDS, MAX_LINK_SECONDS),
      created_by: who.actor,
    });
    await recordAudit(trx, { ...auditedBy(who), action: 'PortalLinkCreated', resourceType: 'portal_session', resourceId: link.id, details: { scopes, read_only: readOnly, expires_in: sessionSeconds } });
    return {
      id: link.id,
      url: `${baseUrl.replace(/\/+$/, '')}/portal/open?code=${code}`,
      link_expires_at: link.link_expires_at,
      expires_in: sessionSeconds,
      scopes,
      read_only: readOnly,
    };
  });
}

export type OpenedLink = { ok: true; token: string; session: PortalSessionRecord } | { ok: false; reason: 'used' | 'expired' | 'unknown' };

/** Exchanges a link's code for a session token, once. */
export async function openLink(db: Db, code: string, traceId: string): Promise<OpenedLink> {
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(code)) return { ok: false, reason: 'unknown' };
  const token = randomBytes(32).toString('base64url');
  const session = await openPortalLink(db, sha256(code), sha256(token));
  if (!session) return { ok: false, reason: await portalLinkState(db, sha256(code)) };
  await recordAudit(db, { tenantId: session.tenant_id, actor: `portal-session:${session.id}`, traceId, action: 'PortalSessionOpened', resourceType: 'portal_session', resourceId: session.id, details: { created_by: session.created_by } });
  return { ok: true, token, session };
}

/** The session a cookie token stands for, as a caller of the API with the link's scopes. */
export async function portalSessionCaller(db: Db, token: string, traceId: string): Promise<{ caller: Caller; session: PortalSessionRecord; tenantState: TenantState } | null> {
  const session = await findUsablePortalSession(db, sha256(token));
  if (!session) return null;
  const { tenant_status: tenantState, ...record } = session;
  return { caller: { tenantId: session.tenant_id, actor: `portal-session:${session.id}`, scopes: new Set(session.scopes), traceId }, session: record, tenantState };
}

/**
 * The session's CSRF token: an HMAC of its id under a key derived from the master key, so nothing
 * more is stored and a token fits one session only.
 */
export function csrfToken(box: SecretBox, sessionId: string): string {
  return createHmac('sha256', box.deriveKey('portal-csrf')).update(sessionId).digest('base64url');
}

export function csrfMatches(box: SecretBox, sessionId: string, given: string | undefined): boolean {
  if (!given) return false;
  const expected = Buffer.from(csrfToken(box, sessionId));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
