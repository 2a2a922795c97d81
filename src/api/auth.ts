import type { RequestHandler, Response } from 'express';
import { AppError, ForbiddenError, UnauthorizedError } from '../errors';
import type { Caller, PlatformCaller, Principal } from '../domain/caller';
import { PLATFORM_SCOPES, SCOPES, type RouteScope } from '../domain/scopes';
import type { TenantState } from '../domain/tenant';
import type { Db } from '../db/knex';
import { tenantState } from '../db/tenants-repo';
import { bearerToken, tokenMatcher } from '../security/bearer';

/** Whoever the request's credential resolved to. */
export function principal(res: Response): Principal {
  return res.locals.caller as Principal;
}

/**
 * The tenant caller. Tenant routes require tenant scopes, which no platform credential holds, so
 * a platform caller never gets here; refusing it anyway keeps a missing scope from becoming a
 * request without a tenant.
 */
export function caller(res: Response): Caller {
  const who = principal(res);
  if (who.tenantId === null) throw new ForbiddenError('a platform credential manages tenants; it does not act inside one');
  return who;
}

/** The platform caller, on `/tenants` and `/platform` routes (same reasoning as {@link caller}). */
export function platformCaller(res: Response): PlatformCaller {
  const who = principal(res);
  if (who.tenantId !== null) throw new ForbiddenError('this route needs a platform credential');
  return who;
}

/** Resolves a bearer credential to a caller, or null when it is not valid. */
export type CredentialResolver = (token: string, traceId: string) => Promise<Principal | null>;

/**
 * A tenant credential counts only while its tenant does: a disabled tenant's answers 403
 * `tenant_disabled` (the credential is fine, the tenant is switched off); one being deleted, or
 * gone, does not resolve (401).
 */
export function admitTenant(found: Caller, state: TenantState | null): Caller | null {
  if (state === 'active') return found;
  if (state === 'disabled') throw new AppError(403, 'tenant_disabled', `tenant ${found.tenantId} is disabled`);
  return null;
}

/** The configured bootstrap token: acts for the default tenant with every tenant scope, never a platform one. */
export function bootstrapTokenResolver(token: string, tenantId: string, db: Db): CredentialResolver {
  const matches = tokenMatcher(token);
  return async (given, traceId) =>
    matches(given)
      ? admitTenant({ tenantId, actor: 'bootstrap-token', scopes: new Set(SCOPES), traceId }, await tenantState(db, tenantId))
      : null;
}

/** `PLATFORM_API_TOKEN`: every platform scope, no tenant. */
export function platformTokenResolver(token: string): CredentialResolver {
  const matches = tokenMatcher(token);
  return async (given, traceId) =>
    matches(given) ? { tenantId: null, actor: 'platform-token', scopes: new Set(PLATFORM_SCOPES), traceId } : null;
}

/** Tries each resolver in turn; 401 in the envelope when none accepts the credential. */
export function authenticate(resolvers: CredentialResolver[]): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req.get('authorization'));
    if (token === undefined) {
      next(new UnauthorizedError('missing Authorization: Bearer <token>'));
      return;
    }
    const traceId = String(req.id ?? '');
    try {
      for (const resolve of resolvers) {
        const found = await resolve(token, traceId);
        if (found) {
          res.locals.caller = found;
          next();
          return;
        }
      }
      next(new UnauthorizedError('invalid bearer token'));
    } catch (err) {
      next(err);
    }
  };
}

/** Route guard: 403 in the envelope unless the caller holds `scope`. */
export function requireScope(scope: RouteScope): RequestHandler {
  return (_req, res, next) => {
    if ((principal(res).scopes as ReadonlySet<string>).has(scope)) next();
    else next(new ForbiddenError(`this credential lacks the ${scope} scope`));
  };
}
