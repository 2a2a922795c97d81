import { z } from 'zod';
import { METADATA_KEY_MAX_LENGTH, METADATA_MAX_KEYS, METADATA_VALUE_MAX_LENGTH, TENANT_ID_PATTERN, TENANT_STATES } from '../domain/tenant';
import { getTenant, listTenants } from '../db/tenants-repo';
import { resolveScopes } from '../services/api-keys';
import type { AppDeps } from '../services/deps';
import { changeTenant, createTenant, createTenantApiKey, deleteTenant, setTenantEnabled, tenantOut } from '../services/tenants';
import { platformCaller } from './auth';
import { RouteTable } from './route-table';
import { apiKeyIn, tenantSettingsPatch } from './schemas';

/** Postgres text cannot hold NUL: refused at the edge instead of failing in the database. */
const text = (max: number) => z.string().max(max).refine((v) => !v.includes('\0'), 'must not contain NUL characters');

const tenantId = z.string().regex(TENANT_ID_PATTERN, 'lowercase letters, digits, _ and -, 1 to 64 characters');
const params = z.object({ id: tenantId }).strict();

/** Your own id for the tenant (Svix's `uid`): unique on the platform, printable ASCII. */
const externalId = z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** A bounded string map, replaced as a whole on update. */
const metadata = z
  .record(z.string().regex(new RegExp(`^[A-Za-z0-9_.:-]{1,${METADATA_KEY_MAX_LENGTH}}$`), `1 to ${METADATA_KEY_MAX_LENGTH} of A-Z a-z 0-9 _ . : -`), text(METADATA_VALUE_MAX_LENGTH))
  .refine((m) => Object.keys(m).length <= METADATA_MAX_KEYS, `at most ${METADATA_MAX_KEYS} keys`);

const tenantIn = z
  .object({
    id: tenantId.optional(),
    name: text(256).min(1),
    external_id: externalId.optional(),
    metadata: metadata.optional(),
    settings: tenantSettingsPatch.optional(),
    /** Mint the tenant's first admin API key too, answered once as `admin_key`. */
    admin_key: z.boolean().optional(),
  })
  .strict();

const tenantPatch = z
  .object({
    name: text(256).min(1).optional(),
    external_id: externalId.nullable().optional(),
    metadata: metadata.optional(),
    settings: tenantSettingsPatch.optional(),
  })
  .strict()
  .refine((p) => Object.keys(p).length > 0, 'give at least one field to change');

const tenantListQuery = z
  .object({
    status: z.enum(TENANT_STATES).optional(),
    external_id: externalId.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();

const disableIn = z.object({ reason: text(500).optional() }).strict();

/**
 * `/api/v1/tenants`: the platform manages its tenants (Svix's applications, Outpost's tenants).
 * Platform credentials only: no tenant credential holds a `tenants:*` scope.
 */
export function tenantsRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/tenants', 'tenants');

  table.add({ method: 'post', path: '/', summary: 'Create a tenant; with admin_key: true, also its first admin API key (shown only here)', scope: 'tenants:manage', body: tenantIn, status: 201 }, async ({ body, res }) => {
    const { tenant, adminKey } = await createTenant(deps, platformCaller(res), body);
    return { ...tenantOut(tenant), ...(adminKey ? { admin_key: adminKey } : {}) };
  });

  table.add({ method: 'get', path: '/', summary: 'List tenants, newest first; filter by status or external_id', scope: 'tenants:read', query: tenantListQuery }, async ({ query }) => {
    const { items, total } = await listTenants(deps.db, { status: query.status, externalId: query.external_id, limit: query.limit, offset: query.offset });
    return { items: items.map(tenantOut), total, limit: query.limit, offset: query.offset };
  });

  table.add({ method: 'get', path: '/:id', summary: 'One tenant', scope: 'tenants:read', params }, async ({ params }) => tenantOut(await getTenant(deps.db, params.id)));

  table.add({ method: 'patch', path: '/:id', summary: "Change a tenant's name, external_id, metadata (replaced) or settings (merged)", scope: 'tenants:manage', params, body: tenantPatch }, async ({ params, body, res }) =>
    tenantOut(await changeTenant(deps, platformCaller(res), params.id, body)),
  );

  table.add({ method: 'post', path: '/:id/disable', summary: 'Disable a tenant: its credentials answer 403 tenant_disabled, nothing new is accepted', scope: 'tenants:manage', params, body: disableIn }, async ({ params, body, res }) =>
    tenantOut(await setTenantEnabled(deps, platformCaller(res), params.id, false, body.reason)),
  );

  table.add({ method: 'post', path: '/:id/enable', summary: 'Enable a disabled tenant again', scope: 'tenants:manage', params }, async ({ params, res }) =>
    tenantOut(await setTenantEnabled(deps, platformCaller(res), params.id, true)),
  );

  table.add({ method: 'delete', path: '/:id', summary: 'Delete a tenant: switched off at once, deliveries stopped and data purged by a workflow', scope: 'tenants:manage', params, status: 202 }, async ({ params, res }) => {
    const { tenant, workflowId } = await deleteTenant(deps, platformCaller(res), params.id);
    return { ...tenantOut(tenant), workflow_id: workflowId };
  });

  table.add({ method: 'post', path: '/:id/api-keys', summary: "Mint an API key of the tenant (role admin unless role or scopes say otherwise); shown only here", scope: 'tenants:manage', params, body: apiKeyIn, status: 201 }, async ({ params, body, res }) =>
    createTenantApiKey(deps, platformCaller(res), params.id, {
      name: body.name,
      scopes: resolveScopes({ scopes: body.scopes, role: body.role ?? (body.scopes ? undefined : 'admin') }),
      expiresAt: body.expires_at ? new Date(body.expires_at) : null,
    }),
  );

  return table;
}
