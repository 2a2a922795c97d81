import { Webhook as StandardWebhook } from 'standardwebhooks';
import { insertActiveKey } from '../../src/db/signing-keys-repo';
import { newId } from '../../src/ids';
import { SecretBox } from '../../src/security/secret-box';
import { verify } from '../../src/security/verify';
import { Receiver } from '../helpers/receiver';
import { eventually, historyText, startStack, TEST_MASTER_KEY, type Stack } from '../helpers/stack';

const lines: string[] = [];
/** Every API response of this file, to show secrets only come back from create and export. */
const responses: Array<{ path: string; text: string }> = [];
let stack: Stack;
let receiver: Receiver;
let call: Stack['call'];

beforeAll(async () => {
  stack = await startStack({ env: { LOG_LEVEL: 'trace' }, logLines: lines });
  receiver = await Receiver.start();
  call = async (method, path, body, init) => {
    const res = await stack.call(method, path, body, init);
    responses.push({ path: `${method} ${path}`, text: JSON.stringify(res.body) });
    return res;
  };
});
afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
});

async function createEndpoint(path: string, scheme = 'x-signature') {
  const type = `keys${path.replace(/\//g, '.')}`;
  const res = await call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: [type], scheme });
  expect(res.status).toBe(201);
  return { id: res.body.data.id as string, secret: res.body.data.secret as string, keyId: res.body.data.key_id as string, type };
}

async function deliver(endpoint: { type: string }, path: string) {
  const before = receiver.requests.filter((r) => r.path === path).length;
  const res = await call('POST', '/api/v1/events', { type: endpoint.type, payload: { at: Date.now() } });
  expect(res.status).toBe(202);
  const all = await receiver.waitForRequests(before + 1, 30_000, path);
  return all[before]!;
}

const keysOf = async (endpointId: string) =>
  (await call('GET', `/api/v1/keys?scope_type=endpoint&scope_id=${endpointId}`)).body.data.items as Array<{ id: string; state: string; expires_at: string | null; usage_count: number }>;

const decodedHistory = (workflowId: string) => historyText(stack, workflowId);

describe('when an endpoint secret is rotated by hand with a short grace period', () => {
  const path = '/rotated';
  let endpoint: Awaited<ReturnType<typeof createEndpoint>>;
  let rotation: { workflow_id: string; run_id: string; new_key_id: string; grace_seconds: number };
  let newSecret: string;

  it('then the rotation starts (202, no secret), and a second request while it runs answers 409', async () => {
    endpoint = await createEndpoint(path, 'standard-webhooks');
    const res = await call('POST', `/api/v1/endpoints/${endpoint.id}/secret/rotate`, { grace_seconds: 4 });
    expect(res.status).toBe(202);
    rotation = res.body.data;
    expect(rotation).toMatchObject({ workflow_id: `key-rotation-default-endpoint-${endpoint.id}`, new_key_id: expect.stringMatching(/^key_/), grace_seconds: 4 });
    const again = await call('POST', '/api/v1/keys/rotate', { scope: { type: 'endpoint', id: endpoint.id } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ ok: false, err: 'rotation_in_progress' });
  });

  it('then GET /keys shows the new key active and the old one in grace, metadata only', async () => {
    const keys = await eventually(async () => {
      const items = await keysOf(endpoint.id);
      return items.some((k) => k.id === rotation.new_key_id && k.state === 'active') ? items : undefined;
    });
    expect(keys.find((k) => k.id === endpoint.keyId)).toMatchObject({ state: 'grace', expires_at: expect.any(String) });
    expect(JSON.stringify(keys)).not.toMatch(/secret|ciphertext/);
  });

  it('then an export needs the exact confirmation and returns both valid secrets, audited', async () => {
    const scope = { type: 'endpoint', id: endpoint.id };
    const refused = await call('POST', '/api/v1/keys/export', { scope, confirm: 'yes' });
    expect(refused.status).toBe(422);
    const res = await call('POST', '/api/v1/keys/export', { scope, confirm: `export ${endpoint.id}` });
    expect(res.status).toBe(200);
    const keys = res.body.data.keys as Array<{ id: string; state: string; secret: string }>;
    expect(keys.map((k) => [k.id, k.state])).toEqual([[rotation.new_key_id, 'active'], [endpoint.keyId, 'grace']]);
    expect(keys[1]!.secret).toBe(endpoint.secret);
    newSecret = keys[0]!.secret;
    const audit = await stack.db('audit_log').where({ action: 'KeyExported' }).whereRaw("details->>'scope_id' = ?", [endpoint.id]);
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain(newSecret);
  });

  it('then a delivery during the grace period verifies with either key', async () => {
    const request = await deliver(endpoint, path);
    const headers = request.headers as Record<string, string>;
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new StandardWebhook(endpoint.secret).verify(request.body, headers)).not.toThrow();
    expect(() => new StandardWebhook(newSecret).verify(request.body, headers)).not.toThrow();
  });

  it('then the workflow completes, the old key is retired, and later deliveries verify only with the new key', async () => {
    const result = await stack.temporal.workflow.getHandle(rotation.workflow_id).result();
    expect(result).toMatchObject({ status: 'completed', newKeyId: rotation.new_key_id, oldKeyIds: [endpoint.keyId] });
    const description = await stack.temporal.workflow.getHandle(rotation.workflow_id).describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(
      expect.arrayContaining([['TenantId', 'default'], ['EndpointId', endpoint.id]]),
    );
    expect((await keysOf(endpoint.id)).find((k) => k.id === endpoint.keyId)).toMatchObject({ state: 'retired' });

    const request = await deliver(endpoint, path);
    const headers = request.headers as Record<string, string>;
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(() => new StandardWebhook(newSecret).verify(request.body, headers)).not.toThrow();
    expect(() => new StandardWebhook(endpoint.secret).verify(request.body, headers)).toThrow();
    expect(() => verify('standard-webhooks', headers, request.body, [endpoint.secret])).toThrow();
  });

  it('then one key_rotation telemetry event and audit rows were recorded', async () => {
    const events = await stack.db('telemetry_events').where({ kind: 'key_rotation' }).whereRaw("details->>'scope_id' = ?", [endpoint.id]);
    expect(events).toHaveLength(1);
    expect(events[0].details).toMatchObject({ trigger: 'manual', new_key_id: rotation.new_key_id, old_key_ids: [endpoint.keyId] });
    const actions = (await stack.db('audit_log').whereRaw("details->>'scope_id' = ? or resource_id = ?", [endpoint.id, endpoint.id])).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['KeyRotationStarted', 'WebhookSecretRotated', 'KeyRotated', 'KeyExported']));
    expect(lines.join('\n')).toContain('"telemetry":"key_rotation"');
  });

  it('then neither secret is in the rotation history, a delivery history, a log line or any other response', async () => {
    const deliveryWorkflow = (await stack.db('deliveries').where({ endpoint_id: endpoint.id }).first()).workflow_id;
    const histories = (await decodedHistory(rotation.workflow_id)) + (await decodedHistory(deliveryWorkflow));
    expect(histories).toContain(rotation.new_key_id); // the history we searched is the right one
    const logs = lines.join('\n');
    const others = responses.filter((r) => !/keys\/export|POST \/api\/v1\/endpoints$/.test(r.path)).map((r) => r.text).join('\n');
    for (const secret of [endpoint.secret, newSecret]) {
      for (const text of [secret, secret.slice('whsec_'.length)]) {
        expect(histories).not.toContain(text);
        expect(logs).not.toContain(text);
        expect(others).not.toContain(text);
      }
    }
  });
});

describe('when keys are managed through the short paths (/keys/…)', () => {
  it('then a source keyring is (re)created once (secret shown once), listed, rotated with no grace, and needs a token', async () => {
    const source = await call('POST', '/api/v1/sources', { name: 'partner-a', allowed_handlers: ['echo'], default_handler: 'echo' });
    expect(source.status).toBe(201);
    const scope = { type: 'source', id: source.body.data.id as string };
    // Registering the source made its first key: creating another is refused; a rotation replaces it.
    expect((await call('POST', '/keys/create', { scope })).status).toBe(409);
    await stack.db('signing_keys').where({ scope_type: 'source', scope_id: scope.id }).update({ state: 'retired', retired_at: new Date() });
    expect((await call('POST', '/keys/create', { scope }, { token: null })).status).toBe(401);
    const created = await call('POST', '/keys/create', { scope });
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({ id: expect.stringMatching(/^key_/), scope, state: 'active', secret: expect.stringMatching(/^whsec_/) });
    expect((await call('POST', '/keys/create', { scope })).status).toBe(409);

    const rotated = await call('POST', '/keys/rotate', { scope, grace_seconds: 0 });
    expect(rotated.status).toBe(202);
    const result = await stack.temporal.workflow.getHandle(rotated.body.data.workflow_id).result();
    expect(result.status).toBe('completed');
    const listed = await call('GET', `/keys?scope_type=source&scope_id=${scope.id}`);
    expect(listed.body.data.items.map((k: { state: string }) => k.state).sort()).toEqual(['active', 'retired', 'retired']);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.data.secret);
  });

  it('then a source that is not registered has no keyring', async () => {
    expect((await call('POST', '/keys/create', { scope: { type: 'source', id: 'src_01aaaaaaaaaaaaaaaaaaaaaaaa' } })).status).toBe(404);
  });

  it('then bad input gets 422 with the field named', async () => {
    const res = await call('POST', '/api/v1/keys/rotate', { scope: { type: 'endpoint', id: 'nope' }, grace_seconds: 8 * 86_400 });
    expect(res.status).toBe(422);
    expect(res.body.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(['body.scope.id', 'body.grace_seconds']));
    expect((await call('GET', '/api/v1/keys?scope_type=endpoint')).status).toBe(422);
  });
});

const OTHER_EP = `ep_${'0'.repeat(21)}other`;
const OTHER_SRC = `src_${'0'.repeat(21)}other`;

describe("when a caller names another tenant's keyring", () => {
  it('then it is not found, and nothing of it is listed or exported', async () => {
    await stack.db('tenants').insert({ id: 'other', name: 'other' }).onConflict('id').ignore();
    await stack.db('endpoints').insert({ id: OTHER_EP, tenant_id: 'other', url: 'http://127.0.0.1:1/x', events: JSON.stringify(['*']) });
    const box = new SecretBox(Buffer.from(TEST_MASTER_KEY, 'hex'));
    await insertActiveKey(stack.db, box, 'other', { type: 'endpoint', id: OTHER_EP }, newId('key'), 'whsec_' + Buffer.alloc(32, 1).toString('base64'));
    await stack.db('inbound_sources').insert({ id: OTHER_SRC, tenant_id: 'other', name: 'shared', allowed_handlers: JSON.stringify(['echo']), default_handler: 'echo', rate_limit_per_minute: 10, tolerance_seconds: 300 });
    await insertActiveKey(stack.db, box, 'other', { type: 'source', id: OTHER_SRC }, newId('key'), 'whsec_' + Buffer.alloc(32, 2).toString('base64'));
    const endpointScope = { type: 'endpoint', id: OTHER_EP };
    const sourceScope = { type: 'source', id: OTHER_SRC };
    expect((await call('POST', '/api/v1/keys/rotate', { scope: endpointScope })).status).toBe(404);
    expect((await call('POST', '/api/v1/keys/rotate', { scope: sourceScope })).status).toBe(404);
    expect((await call('POST', `/api/v1/endpoints/${OTHER_EP}/secret/rotate`, {})).status).toBe(404);
    expect((await call('POST', '/api/v1/keys/export', { scope: sourceScope, confirm: `export ${OTHER_SRC}` })).status).toBe(404);
    expect((await call('GET', `/api/v1/keys?scope_type=endpoint&scope_id=${OTHER_EP}`)).status).toBe(404);
    expect((await call('GET', `/api/v1/keys?scope_type=source&scope_id=${OTHER_SRC}`)).status).toBe(404);
    expect(JSON.stringify((await call('GET', '/api/v1/keys')).body)).not.toContain(OTHER_SRC);
  });
});

describe('when an API key lacks keys:export', () => {
  it('then the export answers 403 and the keys:manage routes still work', async () => {
    const created = await call('POST', '/api/v1/api-keys', { name: 'keys-admin', scopes: ['keys:manage'] });
    expect(created.status).toBe(201);
    const token = created.body.data.key as string;
    const scope = { type: 'source', id: 'partner-a' };
    expect((await call('POST', '/api/v1/keys/export', { scope, confirm: 'export partner-a' }, { token })).status).toBe(403);
    expect((await call('GET', '/api/v1/keys', undefined, { token })).status).toBe(200);
  });
});
