import { deactivateEndpoint } from '../../src/db/endpoints-repo';
import type { Receiver } from '../helpers/receiver';
import { eventually, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

let stack: Stack;
let receiver: Receiver;
beforeAll(async () => ({ stack, receiver } = await startStackWithReceiver()));
afterAll(() => stopAll(stack, receiver));

const create = async (body: Record<string, unknown>) => {
  const res = await stack.call('POST', '/api/v1/endpoints', body);
  expect(res.status).toBe(201);
  return res.body.data;
};

const delivered = (id: string) =>
  eventually(async () => {
    const res = await stack.call('GET', `/api/v1/deliveries/${id}`);
    return ['succeeded', 'failed'].includes(res.body.data.status) ? res.body.data : undefined;
  });

describe('when an endpoint has custom headers', () => {
  it('then every attempt carries them, and sensitive values are never returned', async () => {
    const ep = await create({
      name: 'orders',
      url: receiver.url + '/custom',
      events: ['hdr.test'],
      headers: { 'X-Plain': 'one', Authorization: { value: 'Bearer very-secret', sensitive: true } },
    });
    expect(ep.headers).toEqual({ 'X-Plain': { value: 'one', sensitive: false }, Authorization: { sensitive: true } });
    expect(JSON.stringify(ep)).not.toContain('very-secret');
    const stored = await stack.db('endpoints').where({ id: ep.id }).first();
    expect(JSON.stringify(stored.headers)).not.toContain('very-secret');

    await stack.call('POST', '/api/v1/events', { type: 'hdr.test', payload: {} });
    const [request] = await receiver.waitForRequests(1, 30_000, '/custom');
    expect(request!.headers['x-plain']).toBe('one');
    expect(request!.headers.authorization).toBe('Bearer very-secret');

    // PATCH keeps the sensitive value when it is named without one.
    const patched = await stack.call('PATCH', `/api/v1/endpoints/${ep.id}`, { headers: { Authorization: { sensitive: true }, 'X-New': 'two' } });
    expect(patched.status).toBe(200);
    expect(patched.body.data.headers).toEqual({ Authorization: { sensitive: true }, 'X-New': { value: 'two', sensitive: false } });
    await stack.call('POST', '/api/v1/events', { type: 'hdr.test', payload: {} });
    const requests = await receiver.waitForRequests(2, 30_000, '/custom');
    expect(requests[1]!.headers.authorization).toBe('Bearer very-secret');
    expect(requests[1]!.headers['x-plain']).toBeUndefined();
  });

  it('then a reserved header is refused with 422 naming it', async () => {
    const res = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url, events: ['a.b'], headers: { 'X-Signature': 'forged' } });
    expect(res.status).toBe(422);
    expect(res.body.details[0].path).toBe('body.headers.X-Signature');
  });
});

describe('when an endpoint has payload filters', () => {
  it("then only matching events reach it (the README's filter example as written)", async () => {
    const ep = await create({
      url: receiver.url + '/filtered',
      events: ['order.filtered'],
      filters: { order_status: ['confirmed', 'shipped'], min_amount: 100 },
    });
    const send = (payload: unknown) => stack.call('POST', '/api/v1/events', { type: 'order.filtered', payload });
    expect((await send({ order_status: 'shipped', amount: 150 })).body.data.deliveries).toEqual([{ id: expect.any(String), endpoint_id: ep.id }]);
    expect((await send({ order_status: 'shipped', amount: 50 })).body.data.deliveries).toEqual([]);
    expect((await send({ order_status: 'cancelled', amount: 500 })).body.data.deliveries).toEqual([]);
  });

  it('then a bad filter is refused with 422 naming the field', async () => {
    const res = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url, events: ['a.b'], filters: { amount: { around: 5 } } });
    expect(res.status).toBe(422);
    expect(res.body.details.map((d: { path: string }) => d.path).join()).toContain('body.filters.amount');
  });
});

describe('when an endpoint is updated and deleted', () => {
  it('then PUT replaces, PATCH merges, DELETE hides it and stops fan-out, and each change is audited', async () => {
    const ep = await create({ url: receiver.url + '/life', events: ['life.a'], description: 'first', retry_config: { max_retries: 1 } });
    const put = await stack.call('PUT', `/api/v1/endpoints/${ep.id}`, { url: receiver.url + '/life2', events: ['life.b'] });
    expect(put.body.data).toMatchObject({ url: receiver.url + '/life2', events: ['life.b'], description: null, retry_config: null });
    const patch = await stack.call('PATCH', `/api/v1/endpoints/${ep.id}`, { description: 'second', is_active: false });
    expect(patch.body.data).toMatchObject({ url: receiver.url + '/life2', description: 'second', is_active: false });
    expect((await stack.call('GET', '/api/v1/endpoints?status=inactive')).body.data.items.map((e: { id: string }) => e.id)).toContain(ep.id);
    expect((await stack.call('POST', '/api/v1/events', { type: 'life.b', payload: {} })).body.data.deliveries).toEqual([]);
    expect((await stack.call('PATCH', `/api/v1/endpoints/${ep.id}`, {})).status).toBe(422);

    expect((await stack.call('DELETE', `/api/v1/endpoints/${ep.id}`)).status).toBe(200);
    expect((await stack.call('GET', `/api/v1/endpoints/${ep.id}`)).status).toBe(404);
    expect((await stack.call('DELETE', `/api/v1/endpoints/${ep.id}`)).status).toBe(404);
    const list = await stack.call('GET', '/api/v1/endpoints?limit=200');
    expect(list.body.data.items.map((e: { id: string }) => e.id)).not.toContain(ep.id);
    expect(await stack.db('endpoints').where({ id: ep.id }).first()).toBeTruthy();

    const actions = (await stack.db('audit_log').where({ resource_id: ep.id }).orderBy('id')).map((r: { action: string }) => r.action);
    expect(actions).toEqual(['WebhookCreated', 'WebhookUpdated', 'WebhookUpdated', 'WebhookDeleted']);
  });
});

describe('when an endpoint has delivered events', () => {
  it('then GET one shows delivery stats, and the list shows success counts, a summary and the event filter', async () => {
    const ep = await create({ url: receiver.url + '/stats', events: ['stats.ok', 'stats.bad'], retry_config: { max_retries: 0 } });
    receiver.respond((req) => (req.path === '/stats' && JSON.parse(req.body).type === 'stats.bad' ? { status: 400 } : { status: 200 }));
    const ids = [];
    for (const type of ['stats.ok', 'stats.ok', 'stats.ok', 'stats.bad']) {
      ids.push((await stack.call('POST', '/api/v1/events', { type, payload: {} })).body.data.deliveries[0].id);
    }
    for (const id of ids) await delivered(id);
    const one = await stack.call('GET', `/api/v1/endpoints/${ep.id}`);
    expect(one.body.data.delivery_stats).toMatchObject({
      total_deliveries: 4,
      successful_deliveries: 3,
      failed_deliveries: 1,
      success_rate: 75,
      total_attempts: 4,
      avg_response_time: expect.any(Number),
      last_response_time: expect.any(Number),
    });
    expect(one.body.data.last_triggered).toEqual(expect.any(String));
    const list = await stack.call('GET', '/api/v1/endpoints?event=stats.bad');
    expect(list.body.data.items).toEqual([expect.objectContaining({ id: ep.id, success_count: 3, failure_count: 1, success_rate: 75 })]);
    expect(list.body.data.summary).toMatchObject({ total_endpoints: expect.any(Number), active_endpoints: expect.any(Number), total_events: expect.any(Number) });
    receiver.respond(() => ({ status: 200, body: 'ok' }));
  });
});

describe('when an endpoint is deleted while a delivery waits to retry', () => {
  it('then the delivery stops at its next attempt without sending', async () => {
    const ep = await create({ url: receiver.url + '/vanish', events: ['vanish.x'], retry_config: { schedule: [1500], jitter: 0 } });
    receiver.respond((req) => (req.path === '/vanish' ? { status: 503 } : { status: 200 }));
    const id = (await stack.call('POST', '/api/v1/events', { type: 'vanish.x', payload: {} })).body.data.deliveries[0].id;
    await receiver.waitForRequests(1, 30_000, '/vanish');
    await stack.call('DELETE', `/api/v1/endpoints/${ep.id}`);
    const done = await delivered(id);
    expect(done.status).toBe('failed');
    expect(done.attempts.at(-1)).toMatchObject({ error_class: 'endpoint_deleted', response_status: null });
    expect(receiver.requests.filter((r) => r.path === '/vanish')).toHaveLength(1);
    receiver.respond(() => ({ status: 200, body: 'ok' }));
  });
});

describe('when an endpoint is tested', () => {
  it('then one signed request goes out now and the answer is reported, without any secret', async () => {
    const ep = await create({
      url: receiver.url + '/probe',
      events: ['probe.x'],
      headers: { Authorization: { value: 'Bearer hidden-value', sensitive: true } },
    });
    receiver.respond((req) => (req.path === '/probe' ? { status: 201, body: 'created!' } : { status: 200 }));
    const res = await stack.call('POST', `/api/v1/endpoints/${ep.id}/test`, { event: 'probe.x', payload: { ping: 1 } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'succeeded', response_code: 201, response_body: 'created!', response_time: expect.any(Number) });
    const sent = res.body.data.headers_sent;
    expect(sent).toMatchObject({ Authorization: '[sensitive]', 'x-webhook-test': 'true', 'x-signature': expect.stringMatching(/^[0-9a-f]{128}$/) });
    const text = JSON.stringify(res.body);
    expect(text).not.toContain('hidden-value');
    expect(text).not.toContain(ep.secret);
    const [request] = await receiver.waitForRequests(1, 10_000, '/probe');
    expect(request!.headers.authorization).toBe('Bearer hidden-value');
    expect(request!.headers['x-signature']).toBe(sent['x-signature']);
    expect(JSON.parse(request!.body).data).toEqual({ ping: 1 });
    expect(await stack.db('events').where({ type: 'probe.x' })).toHaveLength(0);
    receiver.respond(() => ({ status: 200, body: 'ok' }));
  });

  it('then an inactive endpoint (created off, switched off, or disabled by the service) is refused with 409 endpoint_inactive and nothing is sent', async () => {
    const createdOff = await create({ url: receiver.url + '/probe-off', events: ['probe.off'], is_active: false });
    const switchedOff = await create({ url: receiver.url + '/probe-off', events: ['probe.off'] });
    await stack.call('PATCH', `/api/v1/endpoints/${switchedOff.id}`, { is_active: false });
    const disabled = await create({ url: receiver.url + '/probe-off', events: ['probe.off'] });
    await deactivateEndpoint(stack.db, 'default', disabled.id, 'the receiver answered 410 Gone', 'dlv_probe:1');
    for (const ep of [createdOff, switchedOff, disabled]) {
      const res = await stack.call('POST', `/api/v1/endpoints/${ep.id}/test`, { event: 'probe.off', payload: {} });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ ok: false, err: 'endpoint_inactive', msg: expect.stringContaining(ep.id) });
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests.filter((r) => r.path === '/probe-off')).toHaveLength(0);
  });

  it('then an unreachable receiver is reported as failed with its error class', async () => {
    const ep = await create({ url: 'http://127.0.0.1:1/closed', events: ['probe.y'] });
    const res = await stack.call('POST', `/api/v1/endpoints/${ep.id}/test`, {});
    expect(res.body.data).toMatchObject({ status: 'failed', response_code: null, error_class: 'connection_refused' });
  });
});
