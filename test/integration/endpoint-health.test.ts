import type { Receiver } from '../helpers/receiver';
import { eventually, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

let stack: Stack;
let receiver: Receiver;

beforeAll(async () => ({ stack, receiver } = await startStackWithReceiver({ env: { ENDPOINT_DISABLE_AFTER_SECONDS: '1' } })));
afterAll(() => stopAll(stack, receiver));

async function createEndpoint(path: string, schedule: number[]) {
  const res = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: [`health${path.replace(/\//g, '.')}`], retry_config: { schedule, jitter: 0 } });
  expect(res.status).toBe(201);
  return res.body.data.id as string;
}

const send = (path: string, n: number) => stack.call('POST', '/api/v1/events', { type: `health${path.replace(/\//g, '.')}`, payload: { n } });
const endpoint = async (id: string) => (await stack.call('GET', `/api/v1/endpoints/${id}`)).body.data;

describe('when an endpoint keeps failing for longer than ENDPOINT_DISABLE_AFTER_SECONDS', () => {
  it('then it is disabled once with its reason, audited and reported as telemetry, and receives nothing new until switched back on', async () => {
    const id = await createEndpoint('/always-down', [400, 400, 400, 400, 400, 400]);
    receiver.respond((req) => (req.path === '/always-down' ? { status: 503 } : { status: 200 }));
    const sent = await send('/always-down', 1);
    const disabled = await eventually(async () => {
      const e = await endpoint(id);
      return e.is_active === false ? e : undefined;
    }, 30_000, 'the endpoint to be disabled');
    expect(disabled).toMatchObject({ failing_since: expect.any(String), disabled_reason: expect.stringContaining('no successful attempt since') });
    expect(Date.parse(disabled.updated_at) - Date.parse(disabled.failing_since)).toBeGreaterThanOrEqual(1000);

    // The delivery in flight stops at its next attempt without sending.
    const delivery = await eventually(async () => {
      const res = await stack.call('GET', `/api/v1/deliveries/${sent.body.data.deliveries[0].id}`);
      return res.body.data?.status === 'failed' ? res.body.data : undefined;
    }, 30_000, 'the delivery to stop');
    expect(delivery.attempts.at(-1)).toMatchObject({ error_class: 'endpoint_disabled' });
    const sentBefore = receiver.requests.filter((r) => r.path === '/always-down').length;
    expect(sentBefore).toBeGreaterThanOrEqual(2);

    const audit = await stack.call('GET', `/api/v1/audit?action=WebhookDisabled&resource_id=${id}`);
    expect(audit.body.data.items).toEqual([expect.objectContaining({ actor: 'system', details: expect.objectContaining({ reason: disabled.disabled_reason }) })]);
    const telemetry = await stack.call('GET', `/api/v1/telemetry?kind=endpoint_disabled&source=${id}`);
    expect(telemetry.body.data.items).toHaveLength(1);

    expect((await send('/always-down', 2)).body.data.deliveries).toEqual([]);

    receiver.respond(() => ({ status: 200, body: 'ok' }));
    const back = await stack.call('PATCH', `/api/v1/endpoints/${id}`, { is_active: true });
    expect(back.body.data).toMatchObject({ is_active: true, failing_since: null, disabled_reason: null });
    const third = await send('/always-down', 3);
    expect(third.body.data.deliveries).toHaveLength(1);
    await receiver.waitForRequests(sentBefore + 1, 30_000, '/always-down');
  });
});

describe('when a failing endpoint succeeds again in time', () => {
  it('then its failure streak ends and it stays active', async () => {
    const id = await createEndpoint('/recovers', [100]);
    let calls = 0;
    receiver.respond((req) => (req.path === '/recovers' && ++calls === 1 ? { status: 500 } : { status: 200 }));
    const sent = await send('/recovers', 1);
    await eventually(async () => {
      const res = await stack.call('GET', `/api/v1/deliveries/${sent.body.data.deliveries[0].id}`);
      return res.body.data?.status === 'succeeded' ? true : undefined;
    }, 30_000, 'the delivery to succeed');
    expect(await endpoint(id)).toMatchObject({ is_active: true, failing_since: null, disabled_reason: null, last_triggered: expect.any(String) });
    receiver.respond(() => ({ status: 200, body: 'ok' }));
  });
});
