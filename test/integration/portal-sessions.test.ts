import { createApiKey } from '../../src/services/api-keys';
import { startStack, type Stack } from '../helpers/stack';

const TENANT = 'portal_sessions';
let stack: Stack;

beforeAll(async () => {
  // A tenant of its own: the endpoints it makes (a catch-all among them) reach no other file's events.
  stack = await startStack({ worker: false, env: { DEFAULT_TENANT_ID: TENANT } });
  await stack.db('tenants').insert({ id: 'portal-other', name: 'Other' }).onConflict('id').ignore();
});
afterAll(async () => stack?.stop());

const newLink = async (body: Record<string, unknown> = {}, token?: string) => {
  const res = await stack.call('POST', '/api/v1/portal/sessions', body, { token });
  expect(res.status).toBe(201);
  return res.body.data as { id: string; url: string; scopes: string[]; read_only: boolean; link_expires_at: string };
};

/** Opens a link like a browser would, answering the session cookie (name=value) and the page. */
async function open(url: string): Promise<{ status: number; cookie: string | null; setCookie: string | null; html: string }> {
  const res = await fetch(url.replace(/^https?:\/\/[^/]+/, stack.url), { redirect: 'manual' });
  const setCookie = res.headers.get('set-cookie');
  return { status: res.status, cookie: setCookie ? setCookie.split(';')[0]! : null, setCookie, html: await res.text() };
}

const portalCall = async (cookie: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  stack.call(method, `/portal/api/v1${path}`, body, { token: null, headers: { cookie, ...headers } });

const session = async (cookie: string) => (await stack.call('GET', '/portal/api/session', undefined, { token: null, headers: { cookie } })).body.data;

describe('when a portal link is made', () => {
  it('then it answers a one-time URL under /portal/open, stored only as a hash, and audited', async () => {
    const link = await newLink();
    expect(link.url).toMatch(new RegExp(`^${stack.url}/portal/open\\?code=[A-Za-z0-9_-]{43}$`));
    expect(link.scopes).toEqual(['endpoints:read', 'endpoints:write', 'deliveries:read', 'deliveries:write', 'event-types:read', 'keys:manage', 'keys:export']);
    const code = new URL(link.url).searchParams.get('code')!;
    const row = await stack.db('portal_sessions').where({ id: link.id }).first();
    expect(JSON.stringify(row)).not.toContain(code);
    expect(row.code_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await stack.db('audit_log').where({ resource_id: link.id, action: 'PortalLinkCreated' }).first()).toMatchObject({ actor: 'bootstrap-token' });
  });

  it('then scopes the creator does not hold are refused with 403, and bad input with 422', async () => {
    const { key } = await createApiKey(stack.db, null, { tenantId: TENANT, name: 'viewer-portal', scopes: ['portal:write', 'endpoints:read'], expiresAt: null });
    const refused = await stack.call('POST', '/api/v1/portal/sessions', { scopes: ['endpoints:write'] }, { token: key });
    expect(refused.status).toBe(403);
    expect(refused.body.msg).toContain('endpoints:write');
    expect((await newLink({}, key)).scopes).toEqual(['endpoints:read']);
    const bad = await stack.call('POST', '/api/v1/portal/sessions', { expires_in: 5, scopes: ['api-keys:manage'] });
    expect(bad.status).toBe(422);
    expect(bad.body.details.map((d: { path: string }) => d.path).sort()).toEqual(['body.expires_in', 'body.scopes.0']);
  });

  it('then a key without portal:write gets 403', async () => {
    const { key } = await createApiKey(stack.db, null, { tenantId: TENANT, name: 'no-portal', scopes: ['endpoints:read'], expiresAt: null });
    expect((await stack.call('POST', '/api/v1/portal/sessions', {}, { token: key })).status).toBe(403);
  });
});

describe('when a portal link is opened', () => {
  it('then it sets an httpOnly SameSite=Strict cookie for /portal and a page that moves on to the app', async () => {
    const opened = await open((await newLink()).url);
    expect(opened.status).toBe(200);
    expect(opened.setCookie).toMatch(/^portal_session=[A-Za-z0-9_-]{43}; Path=\/portal; Expires=.+; HttpOnly; SameSite=Strict$/);
    expect(opened.html).toContain('url=/portal/');
    const who = await session(opened.cookie!);
    expect(who).toMatchObject({ tenant_id: TENANT, read_only: false });
    expect(who.csrf_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('then a second use of the same link gets a clear 410 page and no cookie', async () => {
    const link = await newLink();
    expect((await open(link.url)).status).toBe(200);
    const again = await open(link.url);
    expect(again.status).toBe(410);
    expect(again.setCookie).toBeNull();
    expect(again.html).toContain('already been used');
  });

  it('then an expired link gets a clear 410 page, and a made-up code a 404 page', async () => {
    const link = await newLink({ link_expires_in: 1 });
    await new Promise((r) => setTimeout(r, 1500));
    const late = await open(link.url);
    expect(late.status).toBe(410);
    expect(late.setCookie).toBeNull();
    expect(late.html).toContain('has expired');
    const made = await open(`${stack.url}/portal/open?code=${'A'.repeat(43)}`);
    expect(made.status).toBe(404);
    expect(made.html).toContain('not a valid portal link');
  });

  it('then every /portal answer carries a strict Content-Security-Policy', async () => {
    const res = await fetch(`${stack.url}/portal/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
    const vendor = await fetch(`${stack.url}/portal/vendor/preact-htm.js`);
    expect(vendor.status).toBe(200);
    expect(vendor.headers.get('content-type')).toContain('javascript');
  });
});

describe('when the portal calls the API with its session', () => {
  it('then reads work with the cookie alone, writes need the CSRF header, and a bearer token is not taken', async () => {
    const opened = await open((await newLink()).url);
    const { csrf_token } = await session(opened.cookie!);
    expect((await portalCall(opened.cookie!, 'GET', '/endpoints')).status).toBe(200);
    const body = { url: 'https://example.com/portal-hooks', events: ['order.created'] };
    const forged = await portalCall(opened.cookie!, 'POST', '/endpoints', body);
    expect(forged.status).toBe(403);
    expect(forged.body.err).toBe('csrf_failed');
    const wrong = await portalCall(opened.cookie!, 'POST', '/endpoints', body, { 'x-portal-csrf': csrf_token.slice(1) + 'x' });
    expect(wrong.status).toBe(403);
    const made = await portalCall(opened.cookie!, 'POST', '/endpoints', body, { 'x-portal-csrf': csrf_token });
    expect(made.status).toBe(201);
    expect(made.body.data.secret).toMatch(/^whsec_/);
    const audit = await stack.db('audit_log').where({ resource_id: made.body.data.id, action: 'WebhookCreated' }).first();
    expect(audit.actor).toMatch(/^portal-session:ps_/);
    // The cookie is no credential of the bearer API, and a bearer token none of the portal's.
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: null, headers: { cookie: opened.cookie! } })).status).toBe(401);
    expect((await stack.call('GET', '/portal/api/v1/endpoints')).status).toBe(401);
  });

  it('then a read-only session reads and gets 403 on every write, even with the CSRF header', async () => {
    const link = await newLink({ read_only: true });
    expect(link.scopes).toEqual(['endpoints:read', 'deliveries:read', 'event-types:read']);
    const opened = await open(link.url);
    const { csrf_token, read_only } = await session(opened.cookie!);
    expect(read_only).toBe(true);
    expect((await portalCall(opened.cookie!, 'GET', '/endpoints')).status).toBe(200);
    const denied = await portalCall(opened.cookie!, 'POST', '/endpoints', { url: 'https://example.com/ro', events: ['a.b'] }, { 'x-portal-csrf': csrf_token });
    expect(denied.status).toBe(403);
    expect(denied.body.msg).toContain('endpoints:write');
  });

  it('then a session cannot make portal links, API keys or change settings', async () => {
    const opened = await open((await newLink()).url);
    const { csrf_token } = await session(opened.cookie!);
    const h = { 'x-portal-csrf': csrf_token };
    expect((await portalCall(opened.cookie!, 'POST', '/portal/sessions', {}, h)).status).toBe(403);
    expect((await portalCall(opened.cookie!, 'POST', '/api-keys', { name: 'x', role: 'admin' }, h)).status).toBe(403);
    expect((await portalCall(opened.cookie!, 'PATCH', '/settings', { allow_untyped_events: true }, h)).status).toBe(403);
  });

  it("then another tenant's session sees none of this tenant's endpoints (404 on each)", async () => {
    const mine = await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/mine', events: ['a.b'] });
    const { key } = await createApiKey(stack.db, null, { tenantId: 'portal-other', name: 'other', scopes: ['portal:write', 'endpoints:read', 'deliveries:read'], expiresAt: null });
    const opened = await open((await newLink({}, key)).url);
    expect((await session(opened.cookie!)).tenant_id).toBe('portal-other');
    const list = await portalCall(opened.cookie!, 'GET', '/endpoints');
    expect(list.body.data.items).toEqual([]);
    expect((await portalCall(opened.cookie!, 'GET', `/endpoints/${mine.body.data.id}`)).status).toBe(404);
  });

  it('then signing out ends the session: the cookie no longer works', async () => {
    const opened = await open((await newLink()).url);
    const { csrf_token } = await session(opened.cookie!);
    const ended = await stack.call('POST', '/portal/api/session/end', undefined, { token: null, headers: { cookie: opened.cookie!, 'x-portal-csrf': csrf_token } });
    expect(ended.status).toBe(200);
    const after = await portalCall(opened.cookie!, 'GET', '/endpoints');
    expect(after.status).toBe(401);
    expect(after.body.err).toBe('session_expired');
  });

  it('then a session past its expiry is refused with 401', async () => {
    const link = await newLink({ expires_in: 60 });
    const opened = await open(link.url);
    await stack.db('portal_sessions').where({ id: link.id }).update({ expires_at: stack.db.raw("now() - interval '1 second'") });
    const res = await portalCall(opened.cookie!, 'GET', '/endpoints');
    expect(res.status).toBe(401);
    expect(res.body.msg).toContain('open a new portal link');
  });
});

describe('when a test event is sent to one endpoint', () => {
  it('then it is stored and delivered to that endpoint alone, whatever its subscriptions, and an inactive endpoint gets 409', async () => {
    const target = (await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/target', events: ['only.this'] })).body.data.id as string;
    const bystander = (await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/all', events: ['*'] })).body.data.id as string;
    const sent = await stack.call('POST', `/api/v1/endpoints/${target}/test-event`, { event: 'order.created', payload: { order_id: 1 } });
    expect(sent.status).toBe(202);
    expect(sent.body.data).toMatchObject({ endpoint_id: target, event_id: expect.stringMatching(/^evt_/), delivery_id: expect.stringMatching(/^dlv_/) });
    const event = await stack.call('GET', `/api/v1/events/${sent.body.data.event_id}`);
    expect(event.body.data.type).toBe('order.created');
    expect(event.body.data.body.data).toEqual({ order_id: 1 });
    expect(event.body.data.deliveries.map((d: { endpoint_id: string }) => d.endpoint_id)).toEqual([target]);
    expect(event.body.data.deliveries.map((d: { endpoint_id: string }) => d.endpoint_id)).not.toContain(bystander);

    await stack.call('PATCH', `/api/v1/endpoints/${target}`, { is_active: false });
    const refused = await stack.call('POST', `/api/v1/endpoints/${target}/test-event`, {});
    expect(refused.status).toBe(409);
    expect(refused.body.err).toBe('endpoint_inactive');
  });
});

describe('when a link is opened on a stack that logs every request', () => {
  it('then the request log shows the URL without the code', async () => {
    const lines: string[] = [];
    const logged = await startStack({ worker: false, logLines: lines, env: { LOG_LEVEL: 'info', DEFAULT_TENANT_ID: TENANT } });
    try {
      const res = await logged.call('POST', '/api/v1/portal/sessions', {});
      const code = new URL(res.body.data.url).searchParams.get('code')!;
      expect((await fetch(`${logged.url}/portal/open?code=${code}`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 200));
      const text = lines.join('\n');
      expect(text).toContain('/portal/open?code=[redacted]');
      expect(text).not.toContain(code);
    } finally {
      await logged.stop();
    }
  });
});
