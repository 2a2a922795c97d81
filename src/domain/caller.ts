import type { Scope } from './scopes';

/** Who is calling. Every repository call is scoped to `tenantId`; routes check `scopes`. */
export interface Caller {
  tenantId: string;
  /** Audit name: `api-key:<id>`, `jwt:<sub>`, `bootstrap-token`. */
  actor: string;
  scopes: ReadonlySet<Scope>;
  traceId: string;
}
