import type { Express } from 'express';
import { apiRoutes, createApp } from '../../src/api/app';
import type { RouteSpec } from '../../src/api/route-table';
import { isPlatformScope, PLATFORM_SCOPES, SCOPES } from '../../src/domain/scopes';
import { createApiKey } from '../../src/services/api-keys';
import { createPlatformKey } from '../../src/services/platform-keys';
import type { AppDeps } from '../../src/services/deps';
import { startStack, TEST_TOKEN, type Stack } from '../helpers/stack';

let stack: Stack;
const specs = apiRoutes({} as AppDeps).flatMap((t) => t.specs.map((s) => ({ ...(s as RouteSpec<any, any, any>), base: t.base })));
const ids: Record<string, string> = {};

/** A body that passes validation for each writing route, so scope and tenant checks are what answer. */
const BODIES: Record<string, unknown> = {
  'post /endpoints/': { url: 'https://example.com/s', events: ['surface.x'] },
  'put /endpoints/:id': { url: 'https://example.com/s', events: ['surface.x'] },
  'patch /endpoints/:id': { description: 'x' },
  'post /events/': { type: 'surface.x', payload: {} },
  'post /deliveries/:id/cancel': {},
  'post /endpoints/:id/recover': { since: '2026-01-01T00:00:00Z' },
  'post /endpoints/:id/recoveries/:rid/cancel': {},
  'post /api-keys/': { name: 'x', scopes: ['endpoints:read'] },
  'post /event-types/': { name: 'surface.y' },
  'put /event-types/:name': { name: 'surface.type' },
  'patch /settings/': { allow_untyped_events: true },
  'post /sources/': { name: 'x', allowed_handlers: ['echo'], default_handler: 'echo' },
  'patch /sources/:id': { name: 'y' },
  'post /tenants/': { id: 'surface-new', name: 'x' },
  'patch /tenants/:id': { name: 'y' },
  'post /tenants/:id/disable': {},
  'post /tenants/:id/api-keys': { name: 'x', role: 'viewer' },
  'post /platform/api-keys/': { name: 'x', scopes: ['tenants:read'] },
  'post /portal/sessions': {},
};

/** Routes of the platform API: platform scopes, no tenant. */
const isPlatform = (spec: (typeof specs)[number]) => isPlatformScope(spec.scope);

function url(spec: (typeof specs)[number]): string {
  const byBase: Record<string, string | undefined> = {
    '/endpoints': ids.endpoint, '/events': ids.event, '/deliveries': ids.delivery, '/api-keys': ids.apiKey, '/sources': ids.source,
    '/tenants': ids.tenant, '/platform/api-keys': ids.platformKey,
  };
  const id = byBase[spec.base] ?? ids.eventType;
  return '/api/v1' + spec.base + spec.path.replace(/:id|:name/, id!).replace(':rid', ids.recovery!).replace(/\/$/, '');
}

const call = (spec: (typeof specs)[number], token: string | null) =>
  stack.call(spec.method.toUpperCase(), url(spec), BODIES[`${spec.method} ${spec.base}${spec.path}`], { token });

beforeAll(async () => {
  stack = await startStack({ worker: false });
  ids.endpoint = (await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/s', events: ['surface.x'] })).body.data.id;
  const event = (await stack.call('POST', '/api/v1/events', { type: 'surface.x', payload: {} })).body.data;
  ids.event = event.event_id;
  ids.delivery = event.deliveries[0].id;
  ids.apiKey = (await stack.call('POST', '/api/v1/api-keys', { name: 'surface', role: 'viewer' })).body.data.id;
  ids.source = (await stack.call('POST', '/api/v1/sources', { name: 'surface', allowed_handlers: ['echo'], default_handler: 'echo' })).body.data.id;
  ids.eventType = 'surface.type';
  ids.recovery = `rcv_${'0'.repeat(26)}`;
  await stack.call('POST', '/api/v1/event-types', { name: 'surface.type' });
  await stack.db('tenants').insert({ id: 'acme', name: 'Acme' }).onConflict('id').ignore();
  ids.tenant = 'surface-tenant';
  await stack.db('tenants').insert({ id: ids.tenant, name: 'Surface' }).onConflict('id').ignore();
  ids.platformKey = (await createPlatformKey(stack.db, null, { name: 'surface', scopes: ['tenants:read'], expiresAt: null })).record.id;
});
afterAll(async () => stack?.stop());

/** Routes the Express app really has, counted through every nested router. */
function countRoutes(app: Express): number {
  const walk = (stackOf: Array<{ route?: unknown; handle?: { stack?: unknown[] } }>): number =>
    stackOf.reduce((n, layer) => n + (layer.route ? 1 : 0) + (layer.handle?.stack ? walk(layer.handle.stack as never) : 0), 0);
  return walk((app as unknown as { router: { stack: never[] } }).router.stack);
}

describe('when the OpenAPI document is fetched', () => {
  it('then it is served without auth and documents every route the app has', async () => {
    const res = await stack.call('GET', '/api/v1/openapi.json', undefined, { token: null });
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    for (const spec of specs) {
      const path = (spec.base + (spec.path === '/' ? '' : spec.path)).replace(/:([a-z]+)/g, '{$1}');
      const operation = res.body.paths[path]?.[spec.method];
      expect(operation).toMatchObject({ summary: spec.summary, 'x-required-scope': spec.scope });
      if (spec.body) expect(operation.requestBody.content['application/json'].schema).toBeTruthy();
    }
    const documented = Object.values(res.body.paths as Record<string, object>).reduce((n, ops) => n + Object.keys(ops).length, 0);
    const app = createApp({ config: stack.config, db: stack.db, temporal: stack.temporal } as AppDeps, 'x');
    // Besides the documented routes: /healthz, /readyz, /metrics, the document itself, and
    // /codec/decode and /codec/encode (Temporal's remote codec protocol, not this API's). The
    // portal serves every route of the tables again under /portal/api/v1 (session cookie instead
    // of a bearer token), plus its own five: /portal/open, /portal/api/session,
    // /portal/api/session/end, /portal/vendor/:file and the page itself.
    expect(countRoutes(app)).toBe(documented + 6 + specs.length + 5);
  });
});

describe.each(specs.map((s) => [`${s.method.toUpperCase()} ${s.base}${s.path}`, s] as const))('%s', (_name, spec) => {
  it('when called without credentials, then 401', async () => {
    const res = await call(spec, null);
    expect(res.status).toBe(401);
    expect(res.body.ok).toBe(false);
  });

  it(`when the credential lacks ${spec.scope}, then 403`, async () => {
    const { key } = isPlatform(spec)
      ? await createPlatformKey(stack.db, null, { name: 'scoped', scopes: PLATFORM_SCOPES.filter((s) => s !== spec.scope), expiresAt: null })
      : await createApiKey(stack.db, null, { tenantId: 'default', name: 'scoped', scopes: SCOPES.filter((s) => s !== spec.scope), expiresAt: null });
    const res = await call(spec, key);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ ok: false, err: 'forbidden' });
  });

  if (isPlatform(spec)) {
    it('when a tenant credential calls it (the bootstrap token, a key with every tenant scope), then 403', async () => {
      const { key } = await createApiKey(stack.db, null, { tenantId: 'default', name: 'all', scopes: [...SCOPES], expiresAt: null });
      for (const token of [TEST_TOKEN, key]) {
        const res = await call(spec, token);
        expect(res.status).toBe(403);
        expect(res.body).toMatchObject({ ok: false, err: 'forbidden' });
      }
    });
  } else {
    it('when a platform credential with every platform scope calls it, then 403', async () => {
      const { key } = await createPlatformKey(stack.db, null, { name: 'all', scopes: [...PLATFORM_SCOPES], expiresAt: null });
      const res = await call(spec, key);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ ok: false, err: 'forbidden' });
    });
  }

  if (spec.path.includes(':') && !isPlatform(spec)) {
    it("when another tenant names this tenant's resource, then 404", async () => {
      const { key } = await createApiKey(stack.db, null, { tenantId: 'acme', name: 'other', scopes: [...SCOPES], expiresAt: null });
      const res = await call(spec, key);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ ok: false, err: 'not_found' });
    });
  }
});

describe("when another tenant lists resources", () => {
  it("then it sees none of this tenant's", async () => {
    const { key } = await createApiKey(stack.db, null, { tenantId: 'acme', name: 'lister', scopes: [...SCOPES], expiresAt: null });
    const all = JSON.stringify(await Promise.all(
      ['/api/v1/endpoints', '/api/v1/events', '/api/v1/api-keys', '/api/v1/event-types', '/api/v1/audit', '/api/v1/sources', '/api/v1/telemetry', '/api/v1/keys'].map((p) => stack.call('GET', p, undefined, { token: key }).then((r) => r.body)),
    ));
    for (const id of [ids.endpoint, ids.event, ids.apiKey, ids.eventType, ids.source]) expect(all).not.toContain(id);
    const event = await stack.call('POST', '/api/v1/events', { type: 'surface.x', payload: {} }, { token: key });
    expect(event.body.data.deliveries).toEqual([]);
  });
});
