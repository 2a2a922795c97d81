import { randomBytes } from 'node:crypto';
import { SCOPES } from '../../src/domain/scopes';
import { PURGE_ORDER } from '../../src/db/tenant-purge-repo';
import { createApiKey } from '../../src/services/api-keys';
import { sendInbound } from '../../src/inbound/sender';
import type { Receiver } from '../helpers/receiver';
import { eventually, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

const PLATFORM_TOKEN = 'platform-token-0123456789abcdefghijklmnop';

let stack: Stack;
let receiver: Receiver;
beforeAll(async () => ({ stack, receiver } = await startStackWithReceiver({ env: { PLATFORM_API_TOKEN: PLATFORM_TOKEN } })));
afterAll(() => stopAll(stack, receiver));

/** Tenant ids are unique per run: every test file shares one database. */
const uniqueId = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

const platform = (method: string, path: string, body?: unknown) => stack.call(method, `/api/v1${path}`, body, { token: PLATFORM_TOKEN });

async function newTenant(extra: Record<string, unknown> = {}) {
  const res = await platform('POST', '/tenants', { id: uniqueId('t'), name: 'Tenant', admin_key: true, ...extra });
  expect(res.status).toBe(201);
  return res.body.data as { id: string; admin_key: { id: string; key: string; scopes: string[] } } & Record<string, unknown>;
}

describe('when the platform creates a tenant with admin_key', () => {
  it('then the tenant and its first admin key come back once, and the key works inside that tenant only', async () => {
    const id = uniqueId('acme');
    const res = await platform('POST', '/tenants', { id, name: 'Acme', external_id: `crm-${id}`, metadata: { plan: 'gold' }, admin_key: true });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ id, name: 'Acme', external_id: `crm-${id}`, metadata: { plan: 'gold' }, status: 'active', settings: { allow_untyped_events: true } });
    const { key, scopes } = res.body.data.admin_key;
    expect(key).toMatch(/^whk_/);
    expect(scopes).not.toContain('keys:export');
    expect(JSON.stringify((await platform('GET', `/tenants/${id}`)).body)).not.toContain(key);

    const endpoint = await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/acme', events: ['acme.x'] }, { token: key });
    expect(endpoint.status).toBe(201);
    expect((await stack.db('endpoints').where({ id: endpoint.body.data.id }).first()).tenant_id).toBe(id);
    const fromDefault = await stack.call('GET', `/api/v1/endpoints/${endpoint.body.data.id}`);
    expect(fromDefault.status).toBe(404);

    const generated = await platform('POST', '/tenants', { name: 'No id given' });
    expect(generated.body.data.id).toMatch(/^tn_[0-9a-z]{26}$/);
    expect(generated.body.data.admin_key).toBeUndefined();
  });

  it('then a taken id or external id is 409, and bad fields are 422 naming them', async () => {
    const first = await newTenant({ external_id: uniqueId('ext') });
    expect((await platform('POST', '/tenants', { id: first.id, name: 'Again' })).body).toMatchObject({ ok: false, err: 'tenant_exists' });
    const taken = await platform('POST', '/tenants', { id: uniqueId('t'), name: 'Other', external_id: first.external_id });
    expect(taken.status).toBe(409);
    expect(taken.body.err).toBe('external_id_taken');
    for (const [body, path] of [
      [{ id: 'Has Caps!', name: 'x' }, 'body.id'],
      [{ name: '' }, 'body.name'],
      [{ name: 'nul\u0000' }, 'body.name'],
      [{ name: 'x', metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }, 'body.metadata'],
      [{ name: 'x', metadata: { plan: 'x'.repeat(501) } }, 'body.metadata.plan'],
      [{ name: 'x', settings: { retention: 3 } }, 'body.settings.retention'],
      [{ name: 'x', owner: 'me' }, 'body.owner'],
    ] as const) {
      const res = await platform('POST', '/tenants', body);
      expect(res.status).toBe(422);
      expect(res.body.details.map((d: { path: string }) => d.path)).toContain(path);
    }
  });
});

describe('when tenants are listed', () => {
  it('then they come newest first, paged with a total, and filter by external_id and status', async () => {
    const a = await newTenant({ external_id: uniqueId('list') });
    const b = await newTenant();
    const page = await platform('GET', '/tenants?limit=2');
    expect(page.body.data).toMatchObject({ limit: 2, offset: 0, total: expect.any(Number) });
    expect(page.body.data.items.map((t: { id: string }) => t.id)).toEqual([b.id, a.id]);
    expect(page.body.data.total).toBeGreaterThanOrEqual(3);
    const next = await platform('GET', '/tenants?limit=2&offset=1');
    expect(next.body.data.items[0].id).toBe(a.id);
    const byExternal = await platform('GET', `/tenants?external_id=${a.external_id}`);
    expect(byExternal.body.data).toMatchObject({ total: 1, items: [expect.objectContaining({ id: a.id })] });
    await platform('POST', `/tenants/${b.id}/disable`, {});
    const disabled = (await platform('GET', '/tenants?status=disabled&limit=200')).body.data.items.map((t: { id: string }) => t.id);
    expect(disabled).toContain(b.id);
    expect(disabled).not.toContain(a.id);
  });
});

describe('when a tenant is updated', () => {
  it('then name and external_id change, metadata is replaced, settings are merged, and both audit logs say so', async () => {
    const t = await newTenant({ external_id: uniqueId('upd'), metadata: { a: '1', b: '2' } });
    const res = await platform('PATCH', `/tenants/${t.id}`, { name: 'Renamed', external_id: null, metadata: { c: '3' }, settings: { allow_untyped_events: false } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ name: 'Renamed', external_id: null, metadata: { c: '3' }, settings: { allow_untyped_events: false } });
    const seen = await stack.call('GET', '/api/v1/settings', undefined, { token: t.admin_key.key });
    expect(seen.body.data).toEqual({ allow_untyped_events: false, retention_days: 30 });
    const refused = await stack.call('POST', '/api/v1/events', { type: 'not.in.catalog', payload: {} }, { token: t.admin_key.key });
    expect(refused.body.err).toBe('unknown_event_type');
    const tenantAudit = await stack.call('GET', '/api/v1/audit?action=SettingsUpdated', undefined, { token: t.admin_key.key });
    expect(tenantAudit.body.data.items).toEqual([expect.objectContaining({ actor: 'platform-token', details: { fields: ['allow_untyped_events'] } })]);
    const platformAudit = await platform('GET', `/platform/audit?tenant_id=${t.id}`);
    expect(platformAudit.body.data.items.map((e: { action: string }) => e.action)).toEqual(['TenantUpdated', 'TenantApiKeyCreated', 'TenantCreated']);
    expect((await platform('PATCH', `/tenants/${t.id}`, {})).status).toBe(422);
    const other = await newTenant({ external_id: uniqueId('taken') });
    expect((await platform('PATCH', `/tenants/${t.id}`, { external_id: other.external_id })).body.err).toBe('external_id_taken');
    expect((await platform('PATCH', '/tenants/no-such-tenant', { name: 'x' })).status).toBe(404);
  });
});

describe('when a tenant credential calls the platform API, or a platform credential a tenant route', () => {
  it('then each is refused with 403 and nothing is created or read', async () => {
    const { key: everyTenantScope } = await createApiKey(stack.db, null, { tenantId: 'default', name: 'all', scopes: [...SCOPES], expiresAt: null });
    for (const token of [undefined /* the bootstrap token */, everyTenantScope]) {
      const create = await stack.call('POST', '/api/v1/tenants', { id: uniqueId('evil'), name: 'x' }, { token });
      expect(create.status).toBe(403);
      expect((await stack.call('GET', '/api/v1/tenants', undefined, { token })).status).toBe(403);
      expect((await stack.call('GET', '/api/v1/platform/audit', undefined, { token })).status).toBe(403);
    }
    const cannotGrant = await stack.call('POST', '/api/v1/api-keys', { name: 'x', scopes: ['tenants:manage'] });
    expect(cannotGrant.status).toBe(422);
    expect(await stack.db('tenants').where('id', 'like', 'evil-%')).toEqual([]);
    for (const path of ['/endpoints', '/events', '/audit', '/settings']) {
      const res = await platform('GET', path);
      expect(res.status).toBe(403);
      expect(res.body.err).toBe('forbidden');
    }
  });
});

describe('when a tenant is disabled', () => {
  it('then its keys answer 403 tenant_disabled, its inbound sources refuse, and enabling restores both', async () => {
    const t = await newTenant();
    const source = (await stack.call('POST', '/api/v1/sources', { name: 's', allowed_handlers: ['echo'], default_handler: 'echo' }, { token: t.admin_key.key })).body.data;
    const inbound = () => sendInbound({ url: `${stack.url}/webhook/in`, secret: source.secret, sourceId: source.id, body: '{"hello":1}' });
    expect((await inbound()).status).toBe(200);

    const disabled = await platform('POST', `/tenants/${t.id}/disable`, { reason: 'unpaid' });
    expect(disabled.body.data).toMatchObject({ status: 'disabled', disabled_reason: 'unpaid', disabled_at: expect.any(String) });
    for (const [method, path, body] of [['GET', '/api/v1/endpoints', undefined], ['POST', '/api/v1/events', { type: 'a.b', payload: {} }]] as const) {
      const res = await stack.call(method, path, body, { token: t.admin_key.key });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ ok: false, err: 'tenant_disabled' });
    }
    expect(await inbound()).toMatchObject({ status: 403, body: expect.objectContaining({ err: 'tenant_disabled' }) });
    expect(await stack.db('events').where({ tenant_id: t.id })).toEqual([]);

    expect((await platform('POST', `/tenants/${t.id}/enable`)).body.data).toMatchObject({ status: 'active', disabled_reason: null });
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: t.admin_key.key })).status).toBe(200);
    expect((await inbound()).status).toBe(200);
    const actions = (await platform('GET', `/platform/audit?tenant_id=${t.id}`)).body.data.items.map((e: { action: string }) => e.action);
    expect(actions.slice(0, 2)).toEqual(['TenantEnabled', 'TenantDisabled']);
  });
});

describe('when a tenant is deleted', () => {
  it('then its credentials stop at once, its delivery is cancelled, its schedule deleted, its data purged, and the platform audit keeps the story', async () => {
    const t = await newTenant();
    const token = t.admin_key.key;
    receiver.respond((req) => (req.path === '/doomed' ? { status: 500 } : { status: 200 }));
    const endpoint = (await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/doomed', events: ['doomed.x'], retry_config: { schedule: [60_000], jitter: 0 } }, { token })).body.data;
    const auto = await stack.call('POST', '/api/v1/keys/auto/config', { scope: { type: 'endpoint', id: endpoint.id }, interval: '1h' }, { token });
    expect(auto.status).toBe(200);
    const scheduleId: string = auto.body.data.schedule.id;
    const source = (await stack.call('POST', '/api/v1/sources', { name: 's', allowed_handlers: ['echo'], default_handler: 'echo' }, { token })).body.data;
    expect((await sendInbound({ url: `${stack.url}/webhook/in`, secret: source.secret, sourceId: source.id, body: '{}' })).status).toBe(200);
    const delivery = (await stack.call('POST', '/api/v1/events', { type: 'doomed.x', payload: { n: 1 } }, { token })).body.data.deliveries[0];
    const { workflow_id: deliveryWorkflowId } = await stack.db('deliveries').where({ id: delivery.id }).first();
    await eventually(async () => ((await stack.call('GET', `/api/v1/deliveries/${delivery.id}`, undefined, { token })).body.data.status === 'retrying' ? true : undefined));

    const res = await platform('DELETE', `/tenants/${t.id}`);
    expect(res.status).toBe(202);
    expect(res.body.data).toMatchObject({ id: t.id, status: 'deleting', deletion_requested_at: expect.any(String), workflow_id: `tenant-deletion-${t.id}` });
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token })).status).toBe(401);
    expect((await stack.call('POST', '/api/v1/events', { type: 'doomed.x', payload: {} }, { token })).status).toBe(401);
    expect((await platform('PATCH', `/tenants/${t.id}`, { name: 'x' })).body.err).toBe('tenant_deleting');
    expect((await platform('POST', '/tenants', { id: t.id, name: 'x' })).body.err).toBe('tenant_exists');
    expect((await platform('DELETE', `/tenants/${t.id}`)).status).toBe(202);

    const outcome = await stack.temporal.workflow.getHandle(res.body.data.workflow_id).result();
    expect(outcome).toMatchObject({ deletedSchedules: 1, purgedRows: expect.objectContaining({ events: 1, deliveries: 1, attempts: 1, endpoints: 1 }) });
    // Cancelled through Temporal, with the deletion as the reason its history keeps.
    const deliveryRun = stack.temporal.workflow.getHandle(deliveryWorkflowId);
    await expect(deliveryRun.result()).rejects.toMatchObject({ cause: { name: 'CancelledFailure' } });
    expect((await deliveryRun.describe()).status.name).toBe('CANCELLED');
    const cancelRequest = (await deliveryRun.fetchHistory()).events!.find((e) => e.workflowExecutionCancelRequestedEventAttributes)!;
    expect(cancelRequest.workflowExecutionCancelRequestedEventAttributes).toMatchObject({ cause: 'tenant deleted', identity: 'tenant-deletion' });
    await expect(stack.temporal.schedule.getHandle(scheduleId).describe()).rejects.toThrow();
    for (const table of PURGE_ORDER.filter((name) => name !== 'inbound_nonces' && name !== 'inbound_rate_windows')) {
      expect([table, await stack.db(table).where({ tenant_id: t.id })]).toEqual([table, []]);
    }
    expect(await stack.db('inbound_nonces').where({ source_id: source.id })).toEqual([]);
    expect(await stack.db('tenants').where({ id: t.id })).toEqual([]);
    expect((await platform('GET', `/tenants/${t.id}`)).status).toBe(404);
    expect(receiver.requests.filter((r) => r.path === '/doomed')).toHaveLength(1);

    const story = (await platform('GET', `/platform/audit?tenant_id=${t.id}`)).body.data.items.map((e: { action: string }) => e.action);
    expect(story).toEqual(['TenantPurged', 'TenantDeleted', 'TenantApiKeyCreated', 'TenantCreated']);
    receiver.respond(() => ({ status: 200, body: 'ok' }));
  });

  it('then every table holding tenant rows is purged (a new one must join PURGE_ORDER)', async () => {
    const rows: Array<{ table_name: string }> = await stack.db('information_schema.columns')
      .select('table_name')
      .where({ column_name: 'tenant_id', table_schema: 'public' });
    const withTenant = rows.map((r) => r.table_name).filter((t) => t !== 'platform_audit_log' && t !== 'tenants');
    const bySource = ['inbound_nonces', 'inbound_rate_windows'];
    expect(withTenant.sort()).toEqual(PURGE_ORDER.filter((t) => !bySource.includes(t)).sort());
  });

  it('then the default tenant is refused with 409 default_tenant', async () => {
    const res = await platform('DELETE', `/tenants/${stack.config.DEFAULT_TENANT_ID}`);
    expect(res.status).toBe(409);
    expect(res.body.err).toBe('default_tenant');
  });
});

describe('when the platform mints keys', () => {
  it("then a tenant key gets the role asked for, and a platform key only its scopes, until it is revoked", async () => {
    const t = await newTenant();
    const viewer = await platform('POST', `/tenants/${t.id}/api-keys`, { name: 'ci', role: 'viewer' });
    expect(viewer.status).toBe(201);
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: viewer.body.data.key })).status).toBe(200);
    expect((await stack.call('POST', '/api/v1/events', { type: 'a.b', payload: {} }, { token: viewer.body.data.key })).status).toBe(403);

    const minted = await platform('POST', '/platform/api-keys', { name: 'dashboard', scopes: ['tenants:read'] });
    expect(minted.status).toBe(201);
    const key: string = minted.body.data.key;
    expect(key).toMatch(/^whp_/);
    expect((await stack.call('GET', '/api/v1/tenants', undefined, { token: key })).status).toBe(200);
    expect((await stack.call('POST', '/api/v1/tenants', { name: 'x' }, { token: key })).status).toBe(403);
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: key })).status).toBe(403);
    const listed = await platform('GET', '/platform/api-keys');
    expect(JSON.stringify(listed.body)).not.toContain(key);
    expect(listed.body.data.items[0]).toMatchObject({ id: minted.body.data.id, status: 'active', created_by: 'platform-token' });
    expect((await platform('DELETE', `/platform/api-keys/${minted.body.data.id}`)).body.data.status).toBe('revoked');
    expect((await stack.call('GET', '/api/v1/tenants', undefined, { token: key })).status).toBe(401);
  });
});
