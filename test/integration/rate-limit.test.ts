import { releaseSendSlot, reserveSendSlot } from '../../src/db/send-slots-repo';
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
    const burst = Date.now();
    const sent = await Promise.all(Array.from({ length: 8 }, (_, n) => stack.call('POST', '/api/v1/events', { type: 'rate.burst', payload: { n } })));
    await receiver.waitForRequests(8, 30_000, '/limited');
    const times = receiver.requests.filter((r) => r.path === '/limited').map((r) => r.at).sort((a, b) => a - b);
    // 8 slots 250 ms apart, the first no earlier than the burst: the last arrives at least
    // 7 × 250 ms after it (50 ms taken early at most). Measured from the burst, not from the first
    // arrival, which a loaded machine can delay by more than that.
    expect(times.at(-1)! - burst).toBeGreaterThanOrEqual(7 * 250 - 50);
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

const slotAheadMs = async (id: string): Promise<number | null> => {
  const row = await stack.db('endpoints').where({ id }).first(stack.db.raw('extract(epoch from (rate_next_slot_at - now())) * 1000 as ahead'));
  return row.ahead === null ? null : Number(row.ahead);
};

describe('when deliveries hold rate-limit slots', () => {
  it('then cancelling the waiting ones gives their slots back', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/released', events: ['rate.released'], rate_limit: 1 });
    const id = created.body.data.id;
    const sent = await Promise.all(Array.from({ length: 8 }, (_, n) => stack.call('POST', '/api/v1/events', { type: 'rate.released', payload: { n } })));
    await eventually(async () => ((await slotAheadMs(id)) ?? 0) > 3000 || undefined, 10_000, 'the slots to be reserved');
    const cursor = async () => ((await stack.db('endpoints').where({ id }).first('rate_next_slot_at')).rate_next_slot_at as Date).getTime();
    const held = await cursor();
    await Promise.all(sent.map((res) => stack.call('POST', `/api/v1/deliveries/${res.body.data.deliveries[0].id}/cancel`, { reason: 'test' })));
    // The cursor is a point in time: it moves back only when slots are given back (a second each here).
    await eventually(async () => ((await cursor()) <= held - 1000 ? true : undefined), 20_000, 'the slots to be given back');
  });

  it('then released slots move the cursor back only over the last ones, so no slot is handed out twice', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/release-order', events: ['rate.order'], rate_limit: 1 });
    const id = created.body.data.id;
    const slots = [];
    for (let i = 0; i < 5; i++) slots.push((await reserveSendSlot(stack.db, 'default', id))!.slotMicros);
    // A slot in the middle: the ones after it are still held, so the cursor stays.
    expect(await releaseSendSlot(stack.db, 'default', id, slots[2]!)).toBe(false);
    const next = (await reserveSendSlot(stack.db, 'default', id))!.slotMicros;
    expect(slots).not.toContain(next);
    // The last two (and then the middle one, remembered) once the ones after it are released too.
    expect(await releaseSendSlot(stack.db, 'default', id, next)).toBe(true);
    expect(await releaseSendSlot(stack.db, 'default', id, slots[4]!)).toBe(true);
    expect(await releaseSendSlot(stack.db, 'default', id, slots[3]!)).toBe(true);
    const after = (await reserveSendSlot(stack.db, 'default', id))!.slotMicros;
    expect(after).toBe(slots[2]); // the cursor came back over 3, 4 and the remembered 2
  });

  it('then disabling, deleting or re-enabling the endpoint releases every slot', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/toggled', events: ['rate.toggled'], rate_limit: 1 });
    const id = created.body.data.id;
    const ahead = () => stack.db('endpoints').where({ id }).update({ rate_next_slot_at: stack.db.raw("now() + interval '30 seconds'") });
    await ahead();
    await stack.call('PATCH', `/api/v1/endpoints/${id}`, { is_active: false });
    expect(await slotAheadMs(id)).toBeNull();
    await ahead();
    await stack.call('PATCH', `/api/v1/endpoints/${id}`, { is_active: true });
    expect(await slotAheadMs(id)).toBeNull();
    await ahead();
    await stack.call('DELETE', `/api/v1/endpoints/${id}`);
    expect(await slotAheadMs(id)).toBeNull();
  });

  it('then no slot is reserved further ahead than the cap: a longer backlog waits unreserved, and a cursor left far ahead is pulled back', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/capped', events: ['rate.capped'], rate_limit: 2, is_active: true });
    const id = created.body.data.id;
    const slots = [];
    for (let i = 0; i < 30; i++) slots.push(await reserveSendSlot(stack.db, 'default', id, 5000));
    const reserved = slots.filter((s) => s!.reserved);
    const unreserved = slots.filter((s) => !s!.reserved);
    expect(reserved.length).toBeGreaterThanOrEqual(10); // 5 s ahead at 2 per second
    expect(unreserved.length).toBeGreaterThan(0);
    expect(reserved.every((s) => s!.waitMs <= 5050)).toBe(true);
    expect(unreserved.every((s) => s!.waitMs > 5000)).toBe(true);
    expect(new Set(reserved.map((s) => s!.slotMicros)).size).toBe(reserved.length); // never handed out twice
    expect(await slotAheadMs(id)).toBeLessThan(5600);

    await stack.db('endpoints').where({ id }).update({ rate_next_slot_at: stack.db.raw("now() + interval '2 days'") });
    const pulled = await reserveSendSlot(stack.db, 'default', id, 5000);
    expect(pulled!.waitMs).toBeLessThan(6000);
    expect(await slotAheadMs(id)).toBeLessThan(6000);
  });
});
