import { z } from 'zod';
import type { KeyScope } from '../domain/keys';
import { asymmetricSeed } from '../security/ed25519';
import { secretKeyBytes } from '../security/signing';
import {
  autoRotationState,
  configureAutoRotation,
  createKey,
  disableAutoRotation,
  exportKeys,
  listKeyMetadata,
  startRotation,
} from '../services/keys';
import type { AppDeps } from '../services/deps';
import { caller } from './auth';
import { RouteTable } from './route-table';
import { graceSeconds, resourceId } from './schemas';

const sourceId = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'lowercase letters, digits, _ . - (1 to 64)');

/** A keyring: `{type: "endpoint", id: "ep_…"}` or `{type: "source", id: "<name>"}`. */
export const keyScope = z.discriminatedUnion('type', [
  z.object({ type: z.literal('endpoint'), id: resourceId('ep') }).strict(),
  z.object({ type: z.literal('source'), id: sourceId }).strict(),
]);

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const MAX_INTERVAL_SECONDS = 365 * 86_400;

/** `"30d"`, `"12h"`, `"90m"`, `"45s"`, or a number of seconds; 1 s to 365 days. */
const interval = z
  .union([z.number().int(), z.string().regex(/^\d{1,9}[smhd]$/, 'a number of seconds, or like "30d", "12h", "90m", "45s"')])
  .transform((v) => (typeof v === 'number' ? v : Number(v.slice(0, -1)) * UNIT_SECONDS[v.slice(-1)]!))
  .pipe(z.number().min(1).max(MAX_INTERVAL_SECONDS, 'at most 365 days'));

const createIn = z
  .object({
    scope: keyScope,
    // whsec_ (HMAC) or whsk_ (ed25519): which one the keyring takes is checked against its scheme.
    secret: z.string().max(200).refine((s) => secretKeyBytes(s) !== null || asymmetricSeed(s) !== null, 'must be whsec_ followed by base64 of 24 to 64 bytes, or whsk_ followed by base64 of a 32-byte ed25519 seed').optional(),
  })
  .strict();
const rotateIn = z.object({ scope: keyScope, grace_seconds: graceSeconds.optional() }).strict();
const autoConfigIn = z
  .object({
    scope: keyScope,
    interval: interval.optional(),
    grace_seconds: graceSeconds.optional(),
    usage_threshold: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict()
  .refine((b) => b.interval !== undefined || b.usage_threshold !== undefined, 'give interval, usage_threshold or both');
const autoDisableIn = z.object({ scope: keyScope, delete: z.boolean().optional() }).strict();
const exportIn = z.object({ scope: keyScope, confirm: z.string().max(200) }).strict();

const scopeQuery = {
  scope_type: z.enum(['endpoint', 'source']).optional(),
  scope_id: z.string().max(64).optional(),
};
/** `scope_type` and `scope_id` come together, and are checked like a body scope. */
function queryScope(q: { scope_type?: 'endpoint' | 'source'; scope_id?: string }, ctx: z.RefinementCtx): KeyScope | undefined {
  if (q.scope_type === undefined && q.scope_id === undefined) return undefined;
  const parsed = keyScope.safeParse({ type: q.scope_type, id: q.scope_id });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: [issue.path[0] === 'type' ? 'scope_type' : 'scope_id'] });
    return undefined;
  }
  return parsed.data;
}
const listQuery = z
  .object({
    ...scopeQuery,
    state: z.enum(['pending', 'active', 'grace', 'retired']).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict()
  .transform((q, ctx) => ({ scope: queryScope(q, ctx), state: q.state, limit: q.limit, offset: q.offset }));
const autoQuery = z
  .object({ scope_type: scopeQuery.scope_type.unwrap(), scope_id: z.string().max(64) })
  .strict()
  .transform((q, ctx) => queryScope(q, ctx)!);

/**
 * `/api/v1/keys` (also answered at the short `/keys` paths): keyrings, rotations, auto-rotation, export.
 * Responses carry metadata only, except `create` (the new secret, once) and `export`.
 */
export function keysRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/keys', 'keys');

  table.add({ method: 'get', path: '/', summary: 'List keys (metadata only)', scope: 'keys:manage', query: listQuery }, async ({ query, res }) =>
    listKeyMetadata(deps, caller(res), query),
  );

  table.add({ method: 'post', path: '/create', summary: 'Create the first key of a scope (its secret is shown only here)', scope: 'keys:manage', body: createIn, status: 201 }, async ({ body, res }) => {
    const { key, secret } = await createKey(deps, caller(res), body);
    return { ...key, secret };
  });

  table.add({ method: 'post', path: '/rotate', summary: 'Start a KeyRotationWorkflow for a scope', scope: 'keys:manage', body: rotateIn, status: 202 }, async ({ body, res }) =>
    startRotation(deps, caller(res), body),
  );

  table.add({ method: 'get', path: '/auto', summary: 'Auto-rotation settings and schedule state of a scope', scope: 'keys:manage', query: autoQuery }, async ({ query, res }) =>
    autoRotationState(deps, caller(res), query),
  );

  table.add({ method: 'post', path: '/auto/config', summary: 'Create or replace the auto-rotation of a scope (Temporal Schedule and/or usage threshold)', scope: 'keys:manage', body: autoConfigIn }, async ({ body, res }) =>
    configureAutoRotation(deps, caller(res), { scope: body.scope, interval_seconds: body.interval, grace_seconds: body.grace_seconds, usage_threshold: body.usage_threshold }),
  );

  table.add({ method: 'post', path: '/auto/disable', summary: 'Pause (or delete) the auto-rotation of a scope', scope: 'keys:manage', body: autoDisableIn }, async ({ body, res }) =>
    disableAutoRotation(deps, caller(res), body),
  );

  table.add({ method: 'post', path: '/export', summary: 'Export the valid keys of a scope with their secrets (audited; confirm "export <scope id>")', scope: 'keys:export', body: exportIn }, async ({ body, res }) =>
    exportKeys(deps, caller(res), body),
  );

  return table;
}
