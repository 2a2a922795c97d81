import { Webhook as StandardWebhook } from 'standardwebhooks';
import { keyRotationWorkflowId } from '../../src/temporal/key-rotations';
import type { Receiver } from '../helpers/receiver';
import { eventually, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

let stack: Stack;
let receiver: Receiver;

beforeAll(async () => ({ stack, receiver } = await startStackWithReceiver()));
afterAll(() => stopAll(stack, receiver));

async function createEndpoint(path: string, scheme = 'x-signature') {
  const type = `auto${path.replace(/\//g, '.')}`;
  const res = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: [type], scheme });
  expect(res.status).toBe(201);
  return { id: res.body.data.id as string, secret: res.body.data.secret as string, keyId: res.body.data.key_id as string, type };
}

const rotationAudits = (endpointId: string) => stack.db('audit_log').where({ action: 'KeyRotated' }).whereRaw("details->>'scope_id' = ?", [endpointId]);

describe('when auto-rotation is configured with an interval', () => {
  it('then the Temporal Schedule rotates the key, its state is readable, and disable pauses then deletes it', async () => {
    const endpoint = await createEndpoint('/scheduled');
    const scope = { type: 'endpoint', id: endpoint.id };
    const configured = await stack.call('POST', '/keys/auto/config', { scope, interval: '2s', grace_seconds: 1 });
    expect(configured.status).toBe(200);
    expect(configured.body.data).toMatchObject({ enabled: true, interval_seconds: 2, grace_seconds: 1, usage_threshold: null });
    expect(configured.body.data.schedule).toMatchObject({ id: `key-auto-rotation-default-endpoint-${endpoint.id}`, paused: false, interval_seconds: 2 });

    const state = await eventually(async () => {
      const res = await stack.call('GET', `/api/v1/keys/auto?scope_type=endpoint&scope_id=${endpoint.id}`);
      return res.body.data.schedule.recent_actions.length > 0 ? res.body.data : undefined;
    }, 20_000, 'a scheduled rotation');
    const disabled = await stack.call('POST', '/api/v1/keys/auto/disable', { scope });
    expect(disabled.body.data).toMatchObject({ enabled: false, schedule: { paused: true } });

    const workflowId: string = state.schedule.recent_actions[0].workflow_id;
    expect(workflowId.startsWith(`${keyRotationWorkflowId('default', { type: 'endpoint', id: endpoint.id })}-scheduled`)).toBe(true);
    const handle = stack.temporal.workflow.getHandle(workflowId);
    expect(await handle.result()).toMatchObject({ status: 'completed', oldKeyIds: [endpoint.keyId] });
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    const keys = (await stack.call('GET', `/api/v1/keys?scope_type=endpoint&scope_id=${endpoint.id}`)).body.data.items;
    expect(keys.find((k: { id: string }) => k.id === endpoint.keyId)).toMatchObject({ state: 'retired' });
    const events = await stack.db('telemetry_events').where({ kind: 'key_rotation' }).whereRaw("details->>'scope_id' = ?", [endpoint.id]);
    expect(events[0].details).toMatchObject({ trigger: 'schedule' });

    const deleted = await stack.call('POST', '/api/v1/keys/auto/disable', { scope, delete: true });
    expect(deleted.body.data).toMatchObject({ enabled: false, interval_seconds: null, schedule: null });
    expect((await stack.call('POST', '/api/v1/keys/auto/disable', { scope })).status).toBe(404);
  });

  it('then bad intervals are refused with 422', async () => {
    const endpoint = await createEndpoint('/bad-interval');
    const scope = { type: 'endpoint', id: endpoint.id };
    for (const body of [{ scope }, { scope, interval: '3w' }, { scope, interval: 0 }, { scope, interval: '400d' }]) {
      expect((await stack.call('POST', '/api/v1/keys/auto/config', body)).status).toBe(422);
    }
  });
});

describe('when the active key passes its usage threshold', () => {
  it('then one rotation starts, once, and deliveries keep verifying through it', async () => {
    const endpoint = await createEndpoint('/usage', 'standard-webhooks');
    const scope = { type: 'endpoint', id: endpoint.id };
    const configured = await stack.call('POST', '/api/v1/keys/auto/config', { scope, usage_threshold: 2, grace_seconds: 2 });
    expect(configured.body.data).toMatchObject({ enabled: true, usage_threshold: 2, schedule: null });

    for (let i = 0; i < 4; i++) {
      expect((await stack.call('POST', '/api/v1/events', { type: endpoint.type, payload: { i } })).status).toBe(202);
    }
    const requests = await receiver.waitForRequests(4, 30_000, '/usage');
    const handle = stack.temporal.workflow.getHandle(keyRotationWorkflowId('default', { type: 'endpoint', id: endpoint.id }));
    const result = await eventually(async () => {
      const r = await handle.result();
      return r.status === 'completed' ? r : undefined;
    }, 30_000, 'the usage-triggered rotation');
    expect(result.oldKeyIds).toEqual([endpoint.keyId]);
    expect(await rotationAudits(endpoint.id)).toHaveLength(1);
    // Every delivery made around the rotation still verifies with the old secret (grace co-signing).
    for (const r of requests) {
      expect(() => new StandardWebhook(endpoint.secret).verify(r.body, r.headers as Record<string, string>)).not.toThrow();
    }
    const active = (await stack.call('GET', `/api/v1/keys?scope_type=endpoint&scope_id=${endpoint.id}&state=active`)).body.data.items;
    expect(active).toHaveLength(1);
    expect(active[0].id).toBe(result.newKeyId);
  });
});
