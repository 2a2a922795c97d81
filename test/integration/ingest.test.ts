import type { Receiver } from '../helpers/receiver';
import { eventually, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

let stack: Stack;
let receiver: Receiver;

beforeAll(async () => ({ stack, receiver } = await startStackWithReceiver()));
afterAll(() => stopAll(stack, receiver));

async function endpointFor(type: string, path: string) {
  const res = await stack.call('POST', '/api/v1/endpoints', {
    url: receiver.url + path,
    events: [type],
    retry_config: { schedule: [200], jitter: 0 },
  });
  expect(res.status).toBe(201);
  return res.body.data as { id: string };
}

describe('when the same idempotency key is sent twice', () => {
  it('then the same event and deliveries come back and only one request is delivered', async () => {
    await endpointFor('idem.header', '/idem-header');
    const first = await stack.call('POST', '/api/v1/events', { type: 'idem.header', payload: { a: 1 } }, { headers: { 'idempotency-key': 'k-1' } });
    const second = await stack.call('POST', '/api/v1/events', { type: 'idem.header', payload: { a: 1 } }, { headers: { 'idempotency-key': 'k-1' } });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.data).toEqual(first.body.data);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    await receiver.waitForRequests(1, 30_000, '/idem-header');
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.requests.filter((r) => r.path === '/idem-header')).toHaveLength(1);
    const stored = await stack.db('events').where({ idempotency_key: 'k-1' });
    expect(stored).toHaveLength(1);
  });

  it('then the body field works like the header, and a different key is a new event', async () => {
    await endpointFor('idem.body', '/idem-body');
    const a = await stack.call('POST', '/api/v1/events', { type: 'idem.body', payload: {}, idempotency_key: 'k-2' });
    const b = await stack.call('POST', '/api/v1/events', { type: 'idem.body', payload: {}, idempotency_key: 'k-2' });
    const c = await stack.call('POST', '/api/v1/events', { type: 'idem.body', payload: {}, idempotency_key: 'k-3' });
    expect(b.body.data.event_id).toBe(a.body.data.event_id);
    expect(c.body.data.event_id).not.toBe(a.body.data.event_id);
  });

  it('then concurrent requests with one key still make one event', async () => {
    await endpointFor('idem.race', '/idem-race');
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        stack.call('POST', '/api/v1/events', { type: 'idem.race', payload: {} }, { headers: { 'idempotency-key': 'k-race' } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(202));
    expect(new Set(results.map((r) => r.body.data.event_id)).size).toBe(1);
  });
});

describe('when an idempotency key is reused with a different request', () => {
  it('then it is refused with 422 idempotency_key_reused, nothing new is stored, and the original still replays', async () => {
    await endpointFor('idem.reuse', '/idem-reuse');
    const key = { headers: { 'idempotency-key': 'k-reuse' } };
    const first = await stack.call('POST', '/api/v1/events', { type: 'idem.reuse', payload: { a: 1, b: { c: 2, d: 3 } } }, key);
    expect(first.status).toBe(202);
    for (const changed of [
      { type: 'idem.reuse', payload: { a: 2, b: { c: 2, d: 3 } } },
      { type: 'idem.other', payload: { a: 1, b: { c: 2, d: 3 } } },
      { type: 'idem.reuse', payload: { a: 1, b: { c: 2, d: 3 } }, lang: 'fr' },
    ]) {
      const res = await stack.call('POST', '/api/v1/events', changed, key);
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ ok: false, err: 'idempotency_key_reused', msg: expect.stringContaining(first.body.data.event_id) });
      expect(res.headers.get('idempotent-replayed')).toBeNull();
    }
    // The same request (keys in another order are the same JSON) replays the first answer.
    const again = await stack.call('POST', '/api/v1/events', { payload: { b: { d: 3, c: 2 }, a: 1 }, type: 'idem.reuse' }, key);
    expect(again.status).toBe(202);
    expect(again.body.data).toEqual(first.body.data);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await stack.db('events').where({ idempotency_key: 'k-reuse' })).toHaveLength(1);
  });

  it('then an event stored before request hashes existed is compared with its stored body', async () => {
    const first = await stack.call('POST', '/api/v1/events', { type: 'idem.legacy', payload: { n: 1 }, lang: 'de' }, { headers: { 'idempotency-key': 'k-legacy' } });
    await stack.db('events').where({ id: first.body.data.event_id }).update({ request_hash: null });
    const changed = await stack.call('POST', '/api/v1/events', { type: 'idem.legacy', payload: { n: 2 }, lang: 'de' }, { headers: { 'idempotency-key': 'k-legacy' } });
    expect(changed.status).toBe(422);
    expect(changed.body.err).toBe('idempotency_key_reused');
    const same = await stack.call('POST', '/api/v1/events', { type: 'idem.legacy', payload: { n: 1 }, lang: 'de' }, { headers: { 'idempotency-key': 'k-legacy' } });
    expect(same.status).toBe(202);
    expect(same.body.data.event_id).toBe(first.body.data.event_id);
  });
});

describe('when an event matches more endpoints than the API starts inline', () => {
  it('then a fan-out workflow delivers to every one of them', async () => {
    const endpoints = [];
    for (let i = 0; i < 11; i++) endpoints.push(await endpointFor('fan.out', `/fan-${i}`));
    const res = await stack.call('POST', '/api/v1/events', { type: 'fan.out', payload: { big: true } });
    expect(res.status).toBe(202);
    expect(res.body.data.deliveries).toHaveLength(11);
    const received = await eventually(async () => {
      const paths = new Set(receiver.requests.filter((r) => r.path.startsWith('/fan-')).map((r) => r.path));
      return paths.size === 11 ? paths : undefined;
    }, 30_000, 'all fan-out deliveries');
    expect(received.size).toBe(11);
    const description = await stack.temporal.workflow.getHandle(`fanout-${res.body.data.event_id}`).describe();
    expect(description.type).toBe('fanOutWorkflow');
  });
});

describe('when an event matches no endpoint', () => {
  it('then it is accepted with no deliveries', async () => {
    const res = await stack.call('POST', '/api/v1/events', { type: 'nobody.listens', payload: {} });
    expect(res.status).toBe(202);
    expect(res.body.data.deliveries).toEqual([]);
  });
});

describe('when endpoints subscribe with *', () => {
  it('then they receive every event type', async () => {
    const res = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/star', events: ['*'] });
    expect(res.status).toBe(201);
    await stack.call('POST', '/api/v1/events', { type: 'anything.at.all', payload: {} });
    const [request] = await receiver.waitForRequests(1, 30_000, '/star');
    expect(request!.headers['x-event-type']).toBe('anything.at.all');
    // A catch-all endpoint would receive every later test's events: remove it.
    expect((await stack.call('DELETE', `/api/v1/endpoints/${res.body.data.id}`)).status).toBe(200);
  });
});

describe('when endpoints are read back', () => {
  it('then one and the list never show the secret, and an unknown id is 404', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/hook', events: ['x.y'], description: 'read back' });
    const id = created.body.data.id;
    const one = await stack.call('GET', `/api/v1/endpoints/${id}`);
    expect(one.status).toBe(200);
    expect(one.body.data).toMatchObject({ id, url: 'https://example.com/hook', events: ['x.y'], description: 'read back', is_active: true });
    expect(JSON.stringify(one.body)).not.toContain('whsec_');
    const list = await stack.call('GET', '/api/v1/endpoints?limit=2&offset=0');
    expect(list.status).toBe(200);
    expect(list.body.data.items).toHaveLength(2);
    expect(list.body.data.total).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(list.body)).not.toContain('whsec_');
    const missing = await stack.call('GET', '/api/v1/endpoints/ep_01aaaaaaaaaaaaaaaaaaaaaaaa');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ ok: false, err: 'not_found' });
  });
});

describe("when an endpoint's delivery log is listed", () => {
  it('then it comes from visibility, filtered by status and event type, with a total and a cursor', async () => {
    const { id } = await stack.call('POST', '/api/v1/endpoints', {
      url: receiver.url + '/log',
      events: ['log.ok', 'log.bad'],
      retry_config: { max_retries: 0 },
    }).then((r) => r.body.data);
    receiver.respond((req) => (req.path === '/log' && JSON.parse(req.body).type === 'log.bad' ? { status: 422 } : { status: 200 }));
    for (const type of ['log.ok', 'log.ok', 'log.ok', 'log.bad']) {
      expect((await stack.call('POST', '/api/v1/events', { type, payload: {} })).status).toBe(202);
    }
    const all = await eventually(async () => {
      const res = await stack.call('GET', `/api/v1/endpoints/${id}/deliveries`);
      const done = res.body.data.items.filter((i: { status: string }) => i.status === 'succeeded' || i.status === 'failed');
      return res.body.data.total === 4 && done.length === 4 ? res.body.data : undefined;
    }, 30_000, 'four finished deliveries in visibility');
    expect(all.items[0]).toMatchObject({ id: expect.stringMatching(/^dlv_/), endpoint_id: id, event_type: expect.any(String) });

    const failed = await stack.call('GET', `/api/v1/endpoints/${id}/deliveries?status=failed`);
    expect(failed.body.data.total).toBe(1);
    expect(failed.body.data.items[0].event_type).toBe('log.bad');
    const ok = await stack.call('GET', `/api/v1/endpoints/${id}/deliveries?event_type=log.ok`);
    expect(ok.body.data.total).toBe(3);
    const future = await stack.call('GET', `/api/v1/endpoints/${id}/deliveries?since=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`);
    expect(future.body.data.total).toBe(0);

    const page1 = await stack.call('GET', `/api/v1/endpoints/${id}/deliveries?limit=3`);
    expect(page1.body.data.items).toHaveLength(3);
    expect(page1.body.data.next_cursor).toEqual(expect.any(String));
    const page2 = await stack.call('GET', `/api/v1/endpoints/${id}/deliveries?limit=3&cursor=${page1.body.data.next_cursor}`);
    expect(page2.body.data.items).toHaveLength(1);
    const ids = [...page1.body.data.items, ...page2.body.data.items].map((i: { id: string }) => i.id);
    expect(new Set(ids).size).toBe(4);
    receiver.respond(() => ({ status: 200, body: 'ok' }));
  });
});

describe('when an event is read back', () => {
  it('then it shows the body sent to receivers and each delivery with its status, and the list finds it', async () => {
    const endpoint = await endpointFor('read.back', '/read-back');
    const sent = await stack.call('POST', '/api/v1/events', { type: 'read.back', payload: { order: 7 }, lang: 'en' });
    const eventId = sent.body.data.event_id;
    await receiver.waitForRequests(1, 30_000, '/read-back');
    const one = await eventually(async () => {
      const res = await stack.call('GET', `/api/v1/events/${eventId}`);
      return res.body.data?.deliveries[0]?.status === 'succeeded' ? res : undefined;
    }, 30_000, 'the delivery succeeded in visibility');
    expect(one.status).toBe(200);
    expect(one.body.data).toMatchObject({ id: eventId, type: 'read.back', body: { id: eventId, type: 'read.back', lang: 'en', data: { order: 7 } } });
    expect(one.body.data.deliveries).toEqual([expect.objectContaining({ id: sent.body.data.deliveries[0].id, endpoint_id: endpoint.id, status: 'succeeded' })]);
    const received = receiver.requests.find((r) => r.path === '/read-back')!;
    expect(one.body.data.body).toEqual(JSON.parse(received.body));

    const list = await stack.call('GET', '/api/v1/events?type=read.back&limit=5');
    expect(list.body.data).toMatchObject({ total: 1, items: [{ id: eventId, type: 'read.back', delivery_count: 1 }] });
    const none = await stack.call('GET', `/api/v1/events?type=read.back&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(none.body.data).toMatchObject({ total: 0, items: [] });
    const missing = await stack.call('GET', '/api/v1/events/evt_01aaaaaaaaaaaaaaaaaaaaaaaa');
    expect(missing.body).toMatchObject({ ok: false, err: 'not_found' });
    expect(missing.status).toBe(404);
  });
});
