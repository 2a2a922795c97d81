import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { verify } from '../../src/security/verify';
import { Receiver, type ReceivedRequest } from '../helpers/receiver';
import { eventually, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

let stack: Stack;
let receiver: Receiver;

beforeAll(async () => ({ stack, receiver } = await startStackWithReceiver()));
afterAll(() => stopAll(stack, receiver));

const keyOf = (secret: string) => Buffer.from(secret.slice('whsec_'.length), 'base64');

/** Creates an endpoint with `scheme` and delivers one event to it. */
async function deliverWith(scheme: string, path: string): Promise<{ secret: string; deliveryId: string; request: ReceivedRequest }> {
  const type = `schemes.${scheme}`;
  const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: [type], scheme });
  expect(created.status).toBe(201);
  const sent = await stack.call('POST', '/api/v1/events', { type, payload: { order_id: 7, note: 'héllo ✓' } });
  expect(sent.status).toBe(202);
  const [request] = await receiver.waitForRequests(1, 30_000, path);
  // Other files' endpoints subscribed to `*` may get the event too: pick this endpoint's delivery.
  const deliveryId = (sent.body.data.deliveries as Array<{ id: string; endpoint_id: string }>).find((d) => d.endpoint_id === created.body.data.id)!.id;
  await eventually(async () => ((await stack.call('GET', `/api/v1/deliveries/${deliveryId}`)).body.data.status === 'succeeded' ? true : undefined));
  return { secret: created.body.data.secret, deliveryId, request: request! };
}

describe('when an endpoint uses the x-signature scheme', () => {
  it('then node:crypto verifies hex HMAC-SHA512 over ts.nonce.body, and so does verify()', async () => {
    const { secret, deliveryId, request } = await deliverWith('x-signature', '/x-signature');
    const h = request.headers;
    const expected = createHmac('sha512', keyOf(secret)).update(`${h['x-ts']}.${h['x-nonce']}.${request.body}`).digest();
    expect(timingSafeEqual(Buffer.from(String(h['x-signature']), 'hex'), expected)).toBe(true);
    expect(h['x-delivery-id']).toBe(deliveryId);
    expect(h['webhook-signature']).toBeUndefined();
    expect(verify('x-signature', h, request.body, [secret]).index).toBe(0);
  });
});

describe('when an endpoint uses the standard-webhooks scheme', () => {
  it('then the standardwebhooks and svix packages verify the real delivery, and webhook-id is the delivery id', async () => {
    const { secret, deliveryId, request } = await deliverWith('standard-webhooks', '/standard');
    const h = request.headers as Record<string, string>;
    expect(h['webhook-id']).toBe(deliveryId);
    expect(h['x-delivery-id']).toBe(deliveryId);
    expect(h['x-signature']).toBeUndefined();
    const payload = JSON.parse(request.body);
    const webhookHeaders = { 'webhook-id': h['webhook-id']!, 'webhook-timestamp': h['webhook-timestamp']!, 'webhook-signature': h['webhook-signature']! };
    expect(new StandardWebhook(secret).verify(request.body, webhookHeaders)).toEqual(payload);
    const svixHeaders = { 'svix-id': h['webhook-id']!, 'svix-timestamp': h['webhook-timestamp']!, 'svix-signature': h['webhook-signature']! };
    expect(new SvixWebhook(secret).verify(request.body, svixHeaders)).toEqual(payload);
    expect(verify('standard-webhooks', h, request.body, [secret]).index).toBe(0);
  });

  it('then a retried delivery keeps the same webhook-id with a fresh signature', async () => {
    receiver.respond((req, i) => {
      if (req.path !== '/standard-retry') return { status: 200 };
      const first = receiver.requests.slice(0, i).every((r) => r.path !== '/standard-retry');
      return first ? { status: 503 } : { status: 200 };
    });
    const type = 'schemes.standard-retry';
    const created = await stack.call('POST', '/api/v1/endpoints', {
      url: receiver.url + '/standard-retry',
      events: [type],
      retry_config: { schedule: [1100], jitter: 0 },
      scheme: 'standard-webhooks',
    });
    await stack.call('POST', '/api/v1/events', { type, payload: { n: 1 } });
    const [a, b] = await receiver.waitForRequests(2, 30_000, '/standard-retry');
    expect(a!.headers['webhook-id']).toBe(b!.headers['webhook-id']);
    expect(a!.headers['webhook-timestamp']).not.toBe(b!.headers['webhook-timestamp']);
    expect(() => new StandardWebhook(created.body.data.secret).verify(b!.body, b!.headers as Record<string, string>)).not.toThrow();
    receiver.respond(() => ({ status: 200, body: 'ok' }));
  });
});

describe('when an endpoint uses the sha256 scheme', () => {
  it('then node:crypto verifies X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the body>, and so does verify()', async () => {
    const { secret, deliveryId, request } = await deliverWith('sha256', '/sha256');
    const h = request.headers;
    const hex = createHmac('sha256', keyOf(secret)).update(request.body).digest('hex');
    expect(h['x-webhook-signature']).toBe(`sha256=${hex}`);
    expect(h['x-delivery-id']).toBe(deliveryId);
    expect(verify('sha256', h, request.body, [secret]).index).toBe(0);
  });
});
