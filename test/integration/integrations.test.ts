import { createHmac } from 'node:crypto';
import type { Receiver, ReceivedRequest } from '../helpers/receiver';
import { makeSendWebhook } from '../../activities/send-webhook';
import { makeSignRequest } from '../../activities/sign-request';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import { OutboundDispatchers } from '../../src/http/dispatchers';
import { egressPolicy } from '../../src/security/egress';
import { SecretBox } from '../../src/security/secret-box';
import { eventually, startStackWithReceiver, stopAll, TEST_MASTER_KEY, type Stack } from '../helpers/stack';

const FAST_RETRIES = { schedule: [200], jitter: 0, timeout_ms: 2000 };

let stack: Stack;
let receiver: Receiver;
beforeAll(async () => ({ stack, receiver } = await startStackWithReceiver()));
afterAll(() => stopAll(stack, receiver));

/** Each test has its own path and event type, so endpoints never share events. */
const typeFor = (path: string) => `integration${path.replace(/\//g, '.')}`;

async function createEndpoint(path: string, extra: Record<string, unknown>) {
  const res = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: [typeFor(path)], retry_config: FAST_RETRIES, ...extra });
  expect(res.status).toBe(201);
  return res.body.data as { id: string; secret: string; template: unknown };
}

async function sendEvent(path: string, payload: unknown) {
  const res = await stack.call('POST', '/api/v1/events', { type: typeFor(path), payload });
  expect(res.status).toBe(202);
  return res.body.data as { event_id: string; deliveries: Array<{ id: string }> };
}

const keyOf = (secret: string) => Buffer.from(secret.slice('whsec_'.length), 'base64');

/** The receiver's own check of the default scheme: hex HMAC-SHA512 of `${x-ts}.${x-nonce}.${raw body}`. */
function xSignatureOf(request: ReceivedRequest, secret: string): string {
  const h = request.headers;
  return createHmac('sha512', keyOf(secret)).update(`${h['x-ts']}.${h['x-nonce']}.${request.body}`).digest('hex');
}

const order = { order: { id: 'ord_7', total: 42.5, lines: [{ sku: 'A-1', qty: 2 }] }, customer: { name: 'Ada & <Co>', tier: 'gold' } };

describe('when an endpoint has a Slack template', () => {
  it("then the receiver gets Slack's {text} body with the event's values, signed over exactly those bytes", async () => {
    const template = { kind: 'slack', text: '*New order* {{data.order.id}} ({{type}}) by {{data.customer.name}}: {{data.order.total}} <https://shop.example/o/{{data.order.id}}|open>', username: 'Orders', icon_emoji: ':package:' };
    const endpoint = await createEndpoint('/slack', { template });
    expect(endpoint.template).toEqual(template);
    const { deliveries } = await sendEvent('/slack', order);

    const [request] = await receiver.waitForRequests(1, 30_000, '/slack');
    expect(request!.body).toBe(
      JSON.stringify({ text: '*New order* ord_7 (integration.slack) by Ada &amp; &lt;Co&gt;: 42.5 <https://shop.example/o/ord_7|open>', username: 'Orders', icon_emoji: ':package:' }),
    );
    expect(request!.headers['x-signature']).toBe(xSignatureOf(request!, endpoint.secret));
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['x-delivery-id']).toBe(deliveries[0]!.id);
    await eventually(async () => ((await stack.call('GET', `/api/v1/deliveries/${deliveries[0]!.id}`)).body.data?.status === 'succeeded' ? true : undefined));
  });
});

describe('when an endpoint has a custom template', () => {
  it('then the receiver gets the rendered JSON with nested values, and other schemes sign it too', async () => {
    const endpoint = await createEndpoint('/custom', {
      scheme: 'sha256',
      template: { kind: 'custom', body: '{"event": "{{type}}", "order": "{{data.order}}", "lines": "{{data.order.lines}}", "total": {{data.order.total}}, "who": "{{data.customer.name}} ({{data.customer.tier}})", "coupon": "{{data.coupon}}"}' },
    });
    const { event_id } = await sendEvent('/custom', order);

    const [request] = await receiver.waitForRequests(1, 30_000, '/custom');
    expect(JSON.parse(request!.body)).toEqual({ event: 'integration.custom', order: order.order, lines: order.order.lines, total: 42.5, who: 'Ada & <Co> (gold)', coupon: null });
    const expected = createHmac('sha256', keyOf(endpoint.secret)).update(request!.body).digest('hex');
    expect(request!.headers['x-webhook-signature']).toBe(`sha256=${expected}`);
    // The stored event is still the envelope: the template only shapes what this endpoint gets.
    const event = await stack.call('GET', `/api/v1/events/${event_id}`);
    expect(event.body.data.body).toMatchObject({ id: event_id, type: 'integration.custom', data: order });
  });

  it('then the test route renders the same way, and the answer shows the rendered body', async () => {
    const endpoint = await createEndpoint('/custom-test', { template: { kind: 'custom', body: '{"probe": "{{data.ping}}", "type": "{{type}}"}' } });
    const res = await stack.call('POST', `/api/v1/endpoints/${endpoint.id}/test`, { event: 'probe.integration', payload: { ping: { n: 1 } } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'succeeded', body_sent: '{"probe": {"n":1}, "type": "probe.integration"}' });
    const [request] = await receiver.waitForRequests(1, 10_000, '/custom-test');
    expect(request!.body).toBe('{"probe": {"n":1}, "type": "probe.integration"}');
    expect(request!.headers['x-webhook-test']).toBe('true');
    expect(request!.headers['x-signature']).toBe(xSignatureOf(request!, endpoint.secret));
  });
});

describe('when a template is cleared', () => {
  it('then PATCH template: null sends the normal envelope again', async () => {
    const endpoint = await createEndpoint('/cleared', { template: { kind: 'slack', text: '{{type}}' } });
    await sendEvent('/cleared', { n: 1 });
    const [first] = await receiver.waitForRequests(1, 30_000, '/cleared');
    expect(first!.body).toBe('{"text":"integration.cleared"}');

    const patched = await stack.call('PATCH', `/api/v1/endpoints/${endpoint.id}`, { template: null });
    expect(patched.status).toBe(200);
    expect(patched.body.data.template).toBeNull();
    expect((await stack.call('GET', `/api/v1/endpoints/${endpoint.id}`)).body.data.template).toBeNull();
    const { event_id } = await sendEvent('/cleared', { n: 2 });
    const requests = await receiver.waitForRequests(2, 30_000, '/cleared');
    const stored = await stack.db('events').where({ id: event_id }).first('body');
    expect(requests[1]!.body).toBe(stored.body);
    expect(JSON.parse(requests[1]!.body)).toEqual({ id: event_id, type: 'integration.cleared', timestamp: expect.any(String), data: { n: 2 } });
    expect(requests[1]!.headers['x-signature']).toBe(xSignatureOf(requests[1]!, endpoint.secret));
  });
});

describe('when a rendered body would be larger than MAX_BODY_BYTES', () => {
  it('then nothing is sent and the delivery fails once with body_too_large; the test route answers 422', async () => {
    const endpoint = await createEndpoint('/too-large', { template: { kind: 'custom', body: '["{{data.blob}}", "{{data.blob}}"]' } });
    const { deliveries } = await sendEvent('/too-large', { blob: 'z'.repeat(stack.config.MAX_BODY_BYTES * 0.6) });
    const delivery = await eventually(async () => {
      const res = await stack.call('GET', `/api/v1/deliveries/${deliveries[0]!.id}`);
      return res.body.data?.status === 'failed' ? res.body.data : undefined;
    });
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ outcome: 'failed', error_class: 'body_too_large', response_status: null });
    expect(receiver.requests.filter((r) => r.path === '/too-large')).toHaveLength(0);
    // Not sent, so it says nothing about the receiver's health.
    expect((await stack.call('GET', `/api/v1/endpoints/${endpoint.id}`)).body.data.failing_since).toBeNull();

    const res = await stack.call('POST', `/api/v1/endpoints/${endpoint.id}/test`, { payload: { blob: 'z'.repeat(stack.config.MAX_BODY_BYTES * 0.6) } });
    expect(res.status).toBe(422);
    expect(res.body.err).toBe('body_too_large');
  });
});

describe('when a template is invalid', () => {
  it.each([
    ['an unknown kind', { kind: 'teams', text: 'x' }, 'body.template.kind'],
    ['no Slack text', { kind: 'slack' }, 'body.template.text'],
    ['no custom body', { kind: 'custom' }, 'body.template.body'],
    ['a body that is not JSON once substituted', { kind: 'custom', body: '{"a": "{{type}}",}' }, 'body.template.body'],
    ['a placeholder that is not a dotted path', { kind: 'slack', text: 'hi {{data["x"]}}' }, 'body.template.text'],
    ['an over-long template', { kind: 'slack', text: 'x'.repeat(20_000) }, 'body.template.text'],
  ])('then %s is refused with 422 naming the field, on POST, PUT and PATCH', async (_what, template, path) => {
    const base = { url: receiver.url + '/invalid', events: ['integration.invalid'] };
    const created = await stack.call('POST', '/api/v1/endpoints', { ...base, template });
    expect(created.status).toBe(422);
    expect(created.body.details.map((d: { path: string }) => d.path)).toContain(path);

    const endpoint = await createEndpoint('/invalid', {});
    for (const [method, body] of [['PUT', { ...base, template }], ['PATCH', { template }]] as const) {
      const res = await stack.call(method, `/api/v1/endpoints/${endpoint.id}`, body);
      expect(res.status).toBe(422);
      expect(res.body.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    expect((await stack.call('GET', `/api/v1/endpoints/${endpoint.id}`)).body.data.template).toBeNull();
  });
});

describe('when the integration catalog is read', () => {
  it('then it lists the Slack and custom kinds with their fields and examples', async () => {
    const res = await stack.call('GET', '/api/v1/integrations');
    expect(res.status).toBe(200);
    const kinds = res.body.data.items as Array<{ kind: string; fields: Array<{ name: string; type: string; required: boolean; description: string }>; example: { endpoint: { template: unknown } } }>;
    expect(kinds.map((k) => k.kind)).toEqual(['slack', 'custom']);
    expect(kinds[0]!.fields).toContainEqual({ name: 'text', type: 'text_template', required: true, description: expect.stringContaining('escaped') });
    expect(kinds[1]!.fields).toContainEqual({ name: 'body', type: 'json_template', required: true, description: expect.any(String) });
    // Each example is an endpoint the API accepts as it is.
    for (const kind of kinds) {
      const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/example', events: ['integration.example'], template: kind.example.endpoint.template });
      expect(created.status).toBe(201);
    }
  });
});

describe('when a template changes between signing and sending an attempt', () => {
  it('then the send step refuses the new bytes (body_changed, retryable) and sends nothing; unchanged, it sends', async () => {
    const endpoint = await createEndpoint('/changed', { template: { kind: 'slack', text: 'v1 {{data.n}}' }, is_active: true });
    const path = '/changed';
    const { event_id, deliveries } = await sendEvent(path, { n: 1 });
    await receiver.waitForRequests(1, 30_000, path);
    const egress = egressPolicy(stack.config);
    const outbound = new OutboundDispatchers({ egress, connectTimeoutMs: 2000 });
    const deps = { db: stack.db, box: new SecretBox(Buffer.from(TEST_MASTER_KEY, 'hex')), log: createLogger('silent'), metrics: createMetrics(), outbound, egress, config: stack.config };
    const attempt = { tenantId: 'default', deliveryId: deliveries[0]!.id, eventId: event_id, endpointId: endpoint.id, eventType: typeFor(path), attempt: 9 };
    try {
      const signed = await makeSignRequest(deps)(attempt);
      expect(signed.bodyDigest).toMatch(/^[0-9a-f]{64}$/);
      await stack.call('PATCH', `/api/v1/endpoints/${endpoint.id}`, { template: { kind: 'slack', text: 'v2 {{data.n}}' } });
      const refused = await makeSendWebhook(deps)({ ...attempt, headers: signed.headers, bodyDigest: signed.bodyDigest, timeoutMs: 2000 });
      expect(refused).toMatchObject({ outcome: 'retryable', errorClass: 'body_changed', responseStatus: null });
      expect(receiver.requests.filter((r) => r.path === path)).toHaveLength(1);

      const again = await makeSignRequest(deps)(attempt);
      const sent = await makeSendWebhook(deps)({ ...attempt, headers: again.headers, bodyDigest: again.bodyDigest, timeoutMs: 2000 });
      expect(sent).toMatchObject({ outcome: 'succeeded', responseStatus: 200 });
      const last = receiver.requests.filter((r) => r.path === path).at(-1)!;
      expect(JSON.parse(last.body)).toEqual({ text: 'v2 1' });
      expect(last.headers['x-signature']).toBe(xSignatureOf(last, endpoint.secret));
    } finally {
      await outbound.close();
    }
  });
});
