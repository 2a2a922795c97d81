import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { startStack, type Stack } from '../helpers/stack';

const JWT_SECRET = 'a-test-jwt-secret-of-at-least-32-chars!!';
let stack: Stack;
let introspection: http.Server;
const introspected: string[] = [];

beforeAll(async () => {
  introspection = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const token = new URLSearchParams(body).get('token') ?? '';
      introspected.push(token);
      const answer = token === 'opaque-good'
        ? { active: true, sub: 'svc-a', tenant_id: 'default', scope: 'endpoints:read deliveries:read' }
        : { active: false };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => introspection.listen(0, '127.0.0.1', r));
  const port = (introspection.address() as AddressInfo).port;
  stack = await startStack({
    worker: false,
    env: { JWT_SECRET, JWT_ISSUER: 'test-issuer', INTROSPECTION_URL: `http://127.0.0.1:${port}/introspect`, INTROSPECTION_CACHE_SECONDS: '60' },
  });
});
afterAll(async () => {
  await stack?.stop();
  introspection?.close();
});

const newKey = async (body: Record<string, unknown>) => {
  const res = await stack.call('POST', '/api/v1/api-keys', body);
  expect(res.status).toBe(201);
  return res.body.data as { id: string; key: string; prefix: string; scopes: string[] };
};

describe('when an API key is created', () => {
  it('then the plaintext is returned once and only its prefix afterwards; it is stored as a SHA-256 hash', async () => {
    const created = await newKey({ name: 'ci', role: 'viewer' });
    expect(created.key).toMatch(/^whk_[A-Za-z0-9_-]{32}$/);
    expect(created.prefix).toBe(created.key.slice(0, 12));
    const one = await stack.call('GET', `/api/v1/api-keys/${created.id}`);
    expect(JSON.stringify(one.body)).not.toContain(created.key);
    const row = await stack.db('api_keys').where({ id: created.id }).first();
    expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(created.key);
    const audit = await stack.db('audit_log').where({ resource_id: created.id, action: 'ApiKeyCreated' }).first();
    expect(audit).toMatchObject({ actor: 'bootstrap-token', resource_type: 'api_key' });
  });

  it('then a viewer key reads but gets 403 on writes, and its use is recorded', async () => {
    const { key, id } = await newKey({ name: 'viewer', role: 'viewer' });
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: key })).status).toBe(200);
    const denied = await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com', events: ['a.b'] }, { token: key });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ ok: false, err: 'forbidden', msg: expect.stringContaining('endpoints:write') });
    const listed = await stack.call('GET', `/api/v1/api-keys/${id}`);
    expect(listed.body.data.last_used_at).toEqual(expect.any(String));
  });

  it('then its use is written once a minute at most, not on every request', async () => {
    const { key, id } = await newKey({ name: 'busy', role: 'viewer' });
    const touches: string[] = [];
    const onQuery = (q: { sql: string }) => {
      if (/^update "api_keys"/i.test(q.sql)) touches.push(q.sql);
    };
    stack.db.on('query', onQuery);
    try {
      for (let i = 0; i < 5; i++) expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: key })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      stack.db.off('query', onQuery);
    }
    expect(touches).toHaveLength(1);
    expect((await stack.db('api_keys').where({ id }).first()).last_used_at).toEqual(expect.any(Date));
  });

  it('then a key cannot grant scopes it does not hold', async () => {
    const { key } = await newKey({ name: 'manager', scopes: ['api-keys:manage', 'endpoints:read'] });
    const res = await stack.call('POST', '/api/v1/api-keys', { name: 'escalate', role: 'admin' }, { token: key });
    expect(res.status).toBe(403);
    const ok = await stack.call('POST', '/api/v1/api-keys', { name: 'narrow', scopes: ['endpoints:read'] }, { token: key });
    expect(ok.status).toBe(201);
  });

  it('then a revoked or expired key gets 401', async () => {
    const revoked = await newKey({ name: 'to-revoke', role: 'viewer' });
    expect((await stack.call('DELETE', `/api/v1/api-keys/${revoked.id}`)).body.data.status).toBe('revoked');
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: revoked.key })).status).toBe(401);
    const expiring = await newKey({ name: 'to-expire', role: 'viewer', expires_at: new Date(Date.now() + 60_000).toISOString() });
    await stack.db('api_keys').where({ id: expiring.id }).update({ expires_at: new Date(Date.now() - 1000) });
    const res = await stack.call('GET', '/api/v1/endpoints', undefined, { token: expiring.key });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ ok: false, err: 'unauthorized' });
  });

  it('then bad input is refused with 422', async () => {
    for (const body of [{ name: '' }, { name: 'x', scopes: ['root'] }, { name: 'x', role: 'admin', scopes: ['endpoints:read'] }, { name: 'x', expires_at: '2001-01-01T00:00:00Z' }]) {
      expect((await stack.call('POST', '/api/v1/api-keys', body)).status).toBe(422);
    }
  });
});

describe('when a JWT is presented', () => {
  const sign = (claims: Record<string, unknown>, secret = JWT_SECRET, exp = '5m') =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('test-issuer').setSubject('alice').setIssuedAt().setExpirationTime(exp).sign(new TextEncoder().encode(secret));

  it('then its tenant and role give the scopes', async () => {
    const token = await sign({ tenant_id: 'default', role: 'operator' });
    expect((await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/j', events: ['a.b'] }, { token })).status).toBe(201);
    expect((await stack.call('GET', '/api/v1/api-keys', undefined, { token })).status).toBe(403);
    const scoped = await sign({ tid: 'default', scope: 'endpoints:read' });
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: scoped })).status).toBe(200);
  });

  it('then a wrong signature, an expired token, a token without exp, another issuer or an unknown tenant gets 401', async () => {
    const bad = [
      await sign({ tenant_id: 'default', role: 'admin' }, 'another-secret-that-is-32-chars-long!!'),
      await sign({ tenant_id: 'default', role: 'admin' }, JWT_SECRET, '-1m'),
      await new SignJWT({ tenant_id: 'default', role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('evil').setExpirationTime('5m').sign(new TextEncoder().encode(JWT_SECRET)),
      await sign({ tenant_id: 'nope', role: 'admin' }),
      // No expiry: valid forever once leaked.
      await new SignJWT({ tenant_id: 'default', role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('test-issuer').setIssuedAt().sign(new TextEncoder().encode(JWT_SECRET)),
    ];
    for (const token of bad) expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token })).status).toBe(401);
  });

  it('then platform scopes in its claims give nothing, and a disabled tenant gets 403 tenant_disabled', async () => {
    const claimsPlatform = await sign({ tenant_id: 'default', scope: 'tenants:manage tenants:read endpoints:read' });
    expect((await stack.call('GET', '/api/v1/tenants', undefined, { token: claimsPlatform })).status).toBe(403);
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: claimsPlatform })).status).toBe(200);
    await stack.db('tenants').insert({ id: 'jwt-disabled', name: 'x', status: 'disabled' }).onConflict('id').merge();
    const res = await stack.call('GET', '/api/v1/endpoints', undefined, { token: await sign({ tenant_id: 'jwt-disabled', role: 'admin' }) });
    expect(res.status).toBe(403);
    expect(res.body.err).toBe('tenant_disabled');
  });
});

describe('when an opaque token is presented and introspection is configured', () => {
  it('then an active token works, its answer is cached, and an inactive one gets 401', async () => {
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: 'opaque-good' })).status).toBe(200);
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: 'opaque-good' })).status).toBe(200);
    expect((await stack.call('POST', '/api/v1/events', { type: 'a.b', payload: {} }, { token: 'opaque-good' })).status).toBe(403);
    expect(introspected.filter((t) => t === 'opaque-good')).toHaveLength(1);
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: 'opaque-bad' })).status).toBe(401);
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: 'opaque-bad' })).status).toBe(401);
    expect(introspected.filter((t) => t === 'opaque-bad')).toHaveLength(1); // the inactive answer is cached too
  });

  it("then the service's own API keys are never sent to the identity provider", async () => {
    const unknownKey = `whk_${'x'.repeat(40)}`;
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: unknownKey })).status).toBe(401);
    expect(introspected).not.toContain(unknownKey);
  });

  it('then a flood of made-up tokens reaches the identity provider at INTROSPECTION_MAX_PER_SECOND at most; the rest get 503 with Retry-After', async () => {
    const limited = await startStack({ worker: false, env: { INTROSPECTION_URL: stack.config.INTROSPECTION_URL!, INTROSPECTION_MAX_PER_SECOND: '3' } });
    try {
      const tokens = Array.from({ length: 10 }, (_, i) => `flood-${i}-${Date.now()}`);
      const answers = await Promise.all(tokens.map((token) => limited.call('GET', '/api/v1/endpoints', undefined, { token })));
      expect(introspected.filter((t) => t.startsWith('flood-')).length).toBeLessThanOrEqual(3);
      const refused = answers.filter((a) => a.status === 503);
      expect(refused.length).toBeGreaterThanOrEqual(7);
      expect(refused[0]!.body).toMatchObject({ ok: false, err: 'unavailable' });
      expect(Number(refused[0]!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(answers.filter((a) => a.status !== 503).every((a) => a.status === 401)).toBe(true);
    } finally {
      await limited.stop();
    }
  });
});

describe('when a key with sources:write but not events:write manages sources', () => {
  it('then it may create and change echo sources, but not give a source the relay handler (it emits events)', async () => {
    const { key } = await newKey({ name: 'sources-only', scopes: ['sources:write', 'sources:read'] });
    const echo = await stack.call('POST', '/api/v1/sources', { name: 'echo-src', allowed_handlers: ['echo'], default_handler: 'echo' }, { token: key });
    expect(echo.status).toBe(201);
    const relay = await stack.call('POST', '/api/v1/sources', { name: 'relay-src', allowed_handlers: ['relay'], default_handler: 'relay' }, { token: key });
    expect(relay.status).toBe(403);
    expect(relay.body).toMatchObject({ ok: false, err: 'forbidden', msg: expect.stringContaining('events:write') });
    const widened = await stack.call('PATCH', `/api/v1/sources/${echo.body.data.id}`, { allowed_handlers: ['echo', 'relay'] }, { token: key });
    expect(widened.status).toBe(403);
    expect(await stack.db('inbound_sources').where({ name: 'relay-src' })).toHaveLength(0);

    const { key: both } = await newKey({ name: 'sources-and-events', scopes: ['sources:write', 'events:write'] });
    expect((await stack.call('POST', '/api/v1/sources', { name: 'relay-ok', allowed_handlers: ['relay'], default_handler: 'relay' }, { token: both })).status).toBe(201);
  });
});
