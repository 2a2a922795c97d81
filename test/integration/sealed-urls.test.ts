import type { Receiver } from '../helpers/receiver';
import { eventually, historyText, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';
import { deliveryWorkflowId } from '../../src/temporal/delivery-workflows';

let stack: Stack;
let receiver: Receiver;
beforeAll(async () => ({ stack, receiver } = await startStackWithReceiver()));
afterAll(() => stopAll(stack, receiver));

const TOKEN = 'xoxb7Hd93KslQp2Vn8Rt4Zw6Ya1';
const HEADER_SECRET = 'Bearer s3cr3t-header-value-4711';
const FAST = { schedule: [200], jitter: 0 };

async function finished(deliveryId: string) {
  return eventually(async () => {
    const d = (await stack.call('GET', `/api/v1/deliveries/${deliveryId}`)).body.data;
    return d?.status === 'failed' || d?.status === 'succeeded' ? d : undefined;
  }, 30_000, `delivery ${deliveryId} to finish`);
}

describe('when an endpoint URL carries a secret', () => {
  it('then it is sealed at rest and masked in answers, lists and audit, deliveries still reach the real URL, and the delivery log never shows it', async () => {
    const path = `/services/T0AAAA/B0BBBB/${TOKEN}`;
    const created = await stack.call('POST', '/api/v1/endpoints', {
      url: receiver.url + path,
      events: ['sealed.url'],
      headers: { Authorization: { value: HEADER_SECRET, sensitive: true } },
      retry_config: FAST,
    });
    expect(created.status).toBe(201);
    const endpoint = created.body.data;
    expect(endpoint).toMatchObject({ url: `${receiver.url}/services/T0AAAA/B0BBBB/****`, url_sensitive: true });

    const row = await stack.db('endpoints').where({ id: endpoint.id }).first();
    expect(JSON.stringify(row)).not.toContain(TOKEN);
    expect(row.url_sealed).toEqual(expect.any(String));
    const listed = await stack.call('GET', '/api/v1/endpoints?event=sealed.url');
    const audit = await stack.call('GET', `/api/v1/audit?resource_id=${endpoint.id}`);
    for (const answer of [listed, audit, await stack.call('GET', `/api/v1/endpoints/${endpoint.id}`)]) {
      expect(answer.status).toBe(200);
      expect(JSON.stringify(answer.body)).not.toContain(TOKEN);
    }

    // The receiver fails and quotes the request (its path and Authorization) in its answer.
    receiver.respond((req) => (req.path === path ? { status: 500, body: `no route ${receiver.url}${req.path} for ${req.headers.authorization}` } : { status: 200 }));
    const sent = await stack.call('POST', '/api/v1/events', { type: 'sealed.url', payload: { n: 1 } });
    const delivery = await finished(sent.body.data.deliveries[0].id);
    expect(receiver.requests.filter((r) => r.path === path)).toHaveLength(2); // the real URL, with its token
    expect(receiver.requests.find((r) => r.path === path)!.headers.authorization).toBe(HEADER_SECRET);
    expect(delivery.attempts[0].response_excerpt).toContain('no route');
    const shown = JSON.stringify(delivery) + (await historyText(stack, deliveryWorkflowId(sent.body.data.event_id, endpoint.id)));
    expect(shown).not.toContain(TOKEN);
    expect(shown).not.toContain('s3cr3t-header-value-4711');

    const tested = await stack.call('POST', `/api/v1/endpoints/${endpoint.id}/test`, {});
    expect(tested.body.data.response_code).toBe(500);
    expect(JSON.stringify(tested.body)).not.toContain(TOKEN);
    expect(JSON.stringify(tested.body)).not.toContain('s3cr3t-header-value-4711');

    // A PUT of what GET answered keeps the real URL.
    receiver.respond(() => ({ status: 200 }));
    const shownNow = (await stack.call('GET', `/api/v1/endpoints/${endpoint.id}`)).body.data;
    const put = await stack.call('PUT', `/api/v1/endpoints/${endpoint.id}`, { url: shownNow.url, events: shownNow.events, retry_config: FAST, headers: { Authorization: { sensitive: true } } });
    expect([put.status, put.body.msg]).toEqual([200, undefined]);
    expect(put.body.data.url_sensitive).toBe(true);
    const before = receiver.requests.length;
    const again = await stack.call('POST', '/api/v1/events', { type: 'sealed.url', payload: { n: 2 } });
    expect((await finished(again.body.data.deliveries[0].id)).status).toBe('succeeded');
    expect(receiver.requests.slice(before).map((r) => r.path)).toEqual([path]);
  });

  it('then an endpoint may mark a URL sensitive that does not look secret: it is masked whole', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: `${receiver.url}/plain/orders?team=blue`, events: ['sealed.explicit'], url_sensitive: true });
    expect(created.body.data).toMatchObject({ url: `${receiver.url}/****/****?team=****`, url_sensitive: true });
    const plain = await stack.call('POST', '/api/v1/endpoints', { url: `${receiver.url}/plain/orders`, events: ['sealed.plain'] });
    expect(plain.body.data).toMatchObject({ url: `${receiver.url}/plain/orders`, url_sensitive: false });
    const patched = await stack.call('PATCH', `/api/v1/endpoints/${plain.body.data.id}`, { url_sensitive: true });
    expect(patched.body.data).toMatchObject({ url: `${receiver.url}/****/****`, url_sensitive: true });
    const tested = await stack.call('POST', `/api/v1/endpoints/${plain.body.data.id}/test`, {});
    expect(tested.body.data.status).toBe('succeeded');
    expect(receiver.requests.at(-1)!.path).toBe('/plain/orders');
  });
});
