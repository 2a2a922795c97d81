import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { ForbiddenError, UnauthorizedError } from '../errors';
import type { Caller } from '../domain/caller';
import { SCOPES, type Scope } from '../domain/scopes';

export function caller(res: Response): Caller {
  return res.locals.caller as Caller;
}

/** Resolves a bearer credential to a caller, or null when it is not valid. */
export type CredentialResolver = (token: string, traceId: string) => Promise<Caller | null>;

const digest = (value: string) => createHash('sha256').update(value).digest();

/** The configured bootstrap token: acts for the default tenant with every scope. */
export function bootstrapTokenResolver(token: string, tenantId: string): CredentialResolver {
  const expected = digest(token);
  return async (given, traceId) =>
    timingSafeEqual(digest(given), expected)
      ? { tenantId, actor: 'bootstrap-token', scopes: new Set(SCOPES), traceId }
      : null;
}

/** Tries each resolver in turn; 401 in the envelope when none accepts the credential. */
export function authenticate(resolvers: CredentialResolver[]): RequestHandler {
  return async (req, res, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    if (!match) {
      next(new UnauthorizedError('missing Authorization: Bearer <token>'));
      return;
    }
    const traceId = String(req.id ?? '');
    try {
      for (const resolve of resolvers) {
        const found = await resolve(match[1]!, traceId);
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
export function requireScope(scope: Scope): RequestHandler {
  return (_req, res, next) => {
    if (caller(res).scopes.has(scope)) next();
    else next(new ForbiddenError(`this credential lacks the ${scope} scope`));
  };
}
