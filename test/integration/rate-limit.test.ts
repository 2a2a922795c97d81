import type { Receiver } from '../helpers/receiver';
import { eventually, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

let stack: Stack;
let receiver: Receiver;

beforeAll(async () => ({ stack, receiver } = await startStackWithReceiver()));
afterAll(() => stopAll(stack, receiver));

describe('when an endpoint has a rate limit', () => {
  it('then a burst of events reaches it no faster than the limit, every delivery succeeds in one attempt, and none fails for waiting', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/limited', events: ['rate.burst'], rate_limit: 4 });
    expect(created.status).toBe(201);
    expect(created.body.data.rate_limit).toBe(4);
    const sent = await Promise.all(Array.from({ length: 8 }, (_, n) => stack.call('POST', '/api/v1/events', { type: 'rate.burst', payload: { n } })));
    await receiver.waitForRequests(8, 30_000, '/limited');
    const times = receiver.requests.filter((r) => r.path === '/limited').map((r) => r.at).sort((a, b) => a - b);
    // 8 slots 250 ms apart: the last at least 7 × 250 ms after the first (50 ms taken early at most each).
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(7 * 250 - 100);
    for (const res of sent) {
      const delivery = await eventually(async () => {
        const d = (await stack.call('GET', `/api/v1/deliveries/${res.body.data.deliveries[0].id}`)).body.data;
        return d?.status === 'succeeded' ? d : undefined;
      }, 30_000, 'each delivery to succeed');
      expect(delivery.attempts).toHaveLength(1);
    }
  });

  it('then a waiting delivery shows when it will go, and the limit can be changed or removed', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/slow', events: ['rate.slow'], rate_limit: 1 });
    const id = created.body.data.id;
    const sent = await Promise.all(Array.from({ length: 3 }, () => stack.call('POST', '/api/v1/events', { type: 'rate.slow', payload: {} })));
    const waiting = await eventually(async () => {
      for (const res of sent) {
        const d = (await stack.call('GET', `/api/v1/deliveries/${res.body.data.deliveries[0].id}`)).body.data;
        if (d?.next_attempt_at && d.attempts.length === 0) return d;
      }
      return undefined;
    }, 10_000, 'a delivery waiting for its slot');
    expect(Date.parse(waiting.next_attempt_at)).toBeGreaterThan(Date.now() - 1000);

    expect((await stack.call('PATCH', `/api/v1/endpoints/${id}`, { rate_limit: null })).body.data.rate_limit).toBeNull();
    expect((await stack.call('PATCH', `/api/v1/endpoints/${id}`, { rate_limit: 0 })).status).toBe(422);
    expect((await stack.call('PATCH', `/api/v1/endpoints/${id}`, { rate_limit: 1.5 })).status).toBe(422);
    await receiver.waitForRequests(3, 30_000, '/slow');
  });
});
