import type { PlatformScope, Scope } from './scopes';

/** Who is calling. Every repository call is scoped to `tenantId`; routes check `scopes`. */
export interface Caller {
  tenantId: string;
  /** Audit name: `api-key:<id>`, `jwt:<sub>`, `bootstrap-token`. */
  actor: string;
  scopes: ReadonlySet<Scope>;
  traceId: string;
}

/**
 * A platform credential (`PLATFORM_API_TOKEN` or a `whp_…` key): it manages tenants and acts
 * inside none of them, so it has no tenant and no tenant scope.
 */
export interface PlatformCaller {
  tenantId: null;
  /** Audit name: `platform-token`, `platform-key:<id>`. */
  actor: string;
  scopes: ReadonlySet<PlatformScope>;
  traceId: string;
}

/** Any authenticated caller. */
export type Principal = Caller | PlatformCaller;
