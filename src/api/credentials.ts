import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { request } from 'undici';
import type { Config } from '../config';
import { findUsableApiKey, touchApiKey } from '../db/api-keys-repo';
import type { Db } from '../db/knex';
import { findUsablePlatformKey, touchPlatformKey } from '../db/platform-keys-repo';
import { tenantState } from '../db/tenants-repo';
import { UnavailableError } from '../errors';
import { withDeadline } from '../http/deadline';
import type { Logger } from '../logger';
import { isScope, ROLE_SCOPES, ROLES, type Role, type Scope } from '../domain/scopes';
import { API_KEY_PREFIX, hashApiKey } from '../services/api-keys';
import { PLATFORM_KEY_PREFIX } from '../services/platform-keys';
import type { Caller } from '../domain/caller';
import { admitTenant, type CredentialResolver } from './auth';

/** How long a process skips recording a key's use after it recorded it: `last_used_at` is kept to the minute. */
const USE_RECORD_INTERVAL_MS = 60_000;

/**
 * Records a key's use (`touch`, in the background) at most once a minute per key in this process,
 * instead of one UPDATE statement per request; a failed record is tried again on the next use.
 */
function useRecorder(touch: (id: string) => Promise<void>, onError: (err: unknown, id: string) => void): (id: string) => void {
  const recent = new LRUCache<string, true>({ max: 10_000, ttl: USE_RECORD_INTERVAL_MS });
  return (id) => {
    if (recent.has(id)) return;
    recent.set(id, true);
    touch(id).catch((err) => {
      recent.delete(id);
      onError(err, id);
    });
  };
}

/** `whk_…` API keys, looked up by SHA-256 hash; revoked or expired keys do not resolve. */
export function apiKeyResolver(db: Db, log: Logger): CredentialResolver {
  const recordUse = useRecorder((id) => touchApiKey(db, id), (err, id) => log.warn({ err, apiKeyId: id }, 'could not record API key use'));
  return async (token, traceId) => {
    if (!token.startsWith(API_KEY_PREFIX)) return null;
    const key = await findUsableApiKey(db, hashApiKey(token));
    if (!key) return null;
    const admitted = admitTenant({ tenantId: key.tenant_id, actor: `api-key:${key.id}`, scopes: new Set(key.scopes), traceId }, key.tenant_status);
    if (admitted) recordUse(key.id);
    return admitted;
  };
}

/** `whp_…` platform keys: platform scopes only, no tenant. */
export function platformKeyResolver(db: Db, log: Logger): CredentialResolver {
  const recordUse = useRecorder((id) => touchPlatformKey(db, id), (err, id) => log.warn({ err, platformKeyId: id }, 'could not record platform key use'));
  return async (token, traceId) => {
    if (!token.startsWith(PLATFORM_KEY_PREFIX)) return null;
    const key = await findUsablePlatformKey(db, hashApiKey(token));
    if (!key) return null;
    recordUse(key.id);
    return { tenantId: null, actor: `platform-key:${key.id}`, scopes: new Set(key.scopes), traceId };
  };
}

/** Scopes from token claims: `scope` (space-separated), `scopes` (array) or `role`. */
function claimScopes(claims: Record<string, unknown>): Scope[] {
  const listed = typeof claims.scope === 'string' ? claims.scope.split(' ') : Array.isArray(claims.scopes) ? claims.scopes : null;
  if (listed) return listed.filter((s): s is Scope => typeof s === 'string' && isScope(s));
  const role = claims.role;
  return typeof role === 'string' && (ROLES as readonly string[]).includes(role) ? [...ROLE_SCOPES[role as Role]] : [];
}

/** A caller from verified claims, when they name a tenant that exists. */
async function callerFromClaims(db: Db, claims: Record<string, unknown>, kind: string, traceId: string): Promise<Caller | null> {
  const tenantId = claims.tenant_id ?? claims.tid;
  if (typeof tenantId !== 'string') return null;
  return admitTenant({ tenantId, actor: `${kind}:${String(claims.sub ?? 'unknown')}`, scopes: new Set(claimScopes(claims)), traceId }, await tenantState(db, tenantId));
}

/** JWT bearer tokens verified with jose: HS256 with JWT_SECRET, or keys from JWT_JWKS_URL. */
export function jwtResolver(config: Config, db: Db): CredentialResolver | null {
  let key: Uint8Array | JWTVerifyGetKey;
  if (config.JWT_SECRET) key = new TextEncoder().encode(config.JWT_SECRET);
  else if (config.JWT_JWKS_URL) key = createRemoteJWKSet(new URL(config.JWT_JWKS_URL));
  else return null;
  const options = {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    algorithms: config.JWT_SECRET ? ['HS256'] : ['RS256', 'ES256', 'PS256', 'EdDSA'],
    // A token without an expiry would be valid forever once leaked.
    requiredClaims: ['exp'],
  };
  return async (token, traceId) => {
    if (token.split('.').length !== 3) return null;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key as Uint8Array, options));
    } catch {
      return null;
    }
    return callerFromClaims(db, payload, 'jwt', traceId);
  };
}

/** Tokens whose introspection answer is kept; the least recently used go first. */
const INTROSPECTION_CACHE_MAX = 10_000;

type Introspected = { claims: Record<string, unknown> | null };

/** Asks the introspection endpoint about a token; throws UnavailableError when it cannot answer. */
async function introspect(url: string, basic: string | undefined, token: string): Promise<Record<string, unknown>> {
  try {
    return await withDeadline(5000, async (signal) => {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...(basic ? { authorization: basic } : {}) },
        body: new URLSearchParams({ token }).toString(),
        signal,
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new Error(`introspection answered ${res.statusCode}`);
      }
      return ((await res.body.json()) ?? {}) as Record<string, unknown>;
    });
  } catch {
    // The cause names the identity provider's address: not for the client.
    throw new UnavailableError('token introspection is unavailable; retry shortly');
  }
}

/**
 * OAuth2 token introspection (RFC 7662). Answers, inactive ones too, are kept for
 * INTROSPECTION_CACHE_SECONDS (never past the token's `exp`) in a bounded LRU keyed by the token's
 * hash; concurrent requests with one token make one call. Calls out are limited to
 * INTROSPECTION_MAX_PER_SECOND, so a flood of made-up tokens cannot flood the identity provider:
 * past it, a token not in the cache gets 503 with `Retry-After`. The service's own `whk_` keys
 * are never sent out.
 */
export function introspectionResolver(config: Config, db: Db): CredentialResolver | null {
  const url = config.INTROSPECTION_URL;
  if (!url) return null;
  const ttlMs = config.INTROSPECTION_CACHE_SECONDS * 1000;
  const limiter = new RateLimiterMemory({ points: config.INTROSPECTION_MAX_PER_SECOND, duration: 1 });
  const basic = config.INTROSPECTION_CLIENT_ID
    ? 'Basic ' + Buffer.from(`${config.INTROSPECTION_CLIENT_ID}:${config.INTROSPECTION_CLIENT_SECRET ?? ''}`).toString('base64')
    : undefined;

  const lookUp = async (token: string): Promise<Introspected & { ttlMs: number }> => {
    try {
      await limiter.consume('introspection');
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      throw new UnavailableError('token introspection is busy; retry shortly', Math.max(1, Math.ceil(err.msBeforeNext / 1000)));
    }
    const answer = await introspect(url, basic, token);
    const now = Date.now();
    const exp = typeof answer.exp === 'number' ? answer.exp * 1000 : null;
    const active = answer.active === true && (exp === null || exp > now);
    return { claims: active ? answer : null, ttlMs: active && exp !== null ? Math.min(ttlMs, exp - now) : ttlMs };
  };

  const cache = new LRUCache<string, Introspected, string>({
    max: INTROSPECTION_CACHE_MAX,
    ttl: Math.max(ttlMs, 1),
    fetchMethod: async (_key, _stale, { options, context }) => {
      const { claims, ttlMs: entryTtl } = await lookUp(context);
      options.ttl = Math.max(entryTtl, 1);
      return { claims };
    },
  });

  return async (token, traceId) => {
    if (token.startsWith(API_KEY_PREFIX)) return null;
    const entry = ttlMs > 0 ? await cache.fetch(hashApiKey(token), { context: token }) : await lookUp(token);
    return entry?.claims ? callerFromClaims(db, entry.claims, 'oauth', traceId) : null;
  };
}
