import { randomBytes } from 'node:crypto';
import type { Receiver } from '../helpers/receiver';
import { seedDeliveries } from '../helpers/seed-deliveries';
import { eventually, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

/** Recovery by time window: every failed delivery of an endpoint in the window, sent again. */
const PLATFORM_TOKEN = 'platform-token-recovery-0123456789';
let stack: Stack;
let receiver: Receiver;
beforeAll(async () => ({ stack, receiver } = await startStackWithReceiver({ env: { PLATFORM_API_TOKEN: PLATFORM_TOKEN } })));
afterAll(() => stopAll(stack, receiver));

const tenant = () => stack.config.DEFAULT_TENANT_ID;
const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000);

async function endpointAt(path: string, extra: Record<string, unknown> = {}) {
  const res = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: ['recovery.test'], ...extra });
  expect(res.status).toBe(201);
  return res.body.data.id as string;
}
const recovery = async (endpointId: string, id: string) => (await stack.call('GET', `/api/v1/endpoints/${endpointId}/recoveries/${id}`)).body.data;
const ended = (endpointId: string, id: string, timeoutMs: number) =>
  eventually(async () => {
    const r = await recovery(endpointId, id);
    return r?.state !== 'running' ? r : undefined;
  }, timeoutMs, `recovery ${id} to end`);
const eventIdsAt = (path: string) => receiver.requests.filter((r) => r.path === path).map((r) => r.headers['x-event-id'] as string);

describe('when a recovery runs over thousands of failed deliveries', () => {
  it('then it redelivers exactly the failed ones of the window, page after page, with the counts right', async () => {
    const endpointId = await endpointAt('/recover-many');
    const seed = (count: number, ending: Parameters<typeof seedDeliveries>[1]['ending'], createdAt: Date) =>
      seedDeliveries(stack.db, { tenantId: tenant(), endpointId, count, ending, createdAt });
    const failed = await seed(2000, 'failed', ago(30));
    const [before, after, delivered, retrying] = await Promise.all([seed(5, 'failed', ago(120)), seed(5, 'failed', ago(5)), seed(20, 'succeeded', ago(30)), seed(20, 'retrying', ago(30))]);

    const res = await stack.call('POST', `/api/v1/endpoints/${endpointId}/recover`, { since: ago(60).toISOString(), until: ago(10).toISOString() });
    expect(res.status).toBe(202);
    expect(res.body.data).toMatchObject({ endpoint_id: endpointId, state: 'running', workflow_id: `recovery-${res.body.data.id}` });

    // One at a time per endpoint.
    const second = await stack.call('POST', `/api/v1/endpoints/${endpointId}/recover`, { since: ago(60).toISOString() });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ ok: false, err: 'recovery_running' });

    const started = Date.now();
    const done = await ended(endpointId, res.body.data.id, 300_000);
    process.stdout.write(`recovery of 2000: ended in ${Date.now() - started} ms\n`);
    expect(done).toMatchObject({ state: 'completed', found: 2000, redelivered: 2000, skipped: 0, remaining: 0, reason: null });
    await eventually(async () => (new Set(eventIdsAt('/recover-many')).size >= 2000 ? true : undefined), 600_000, '2000 redeliveries to arrive');
    process.stdout.write(`recovery of 2000: all arrived after ${Date.now() - started} ms\n`);
    const got = new Set(eventIdsAt('/recover-many'));
    expect(got.size).toBe(2000);
    for (const d of failed) expect(got.has(d.eventId)).toBe(true);
    for (const d of [...before, ...after, ...delivered, ...retrying]) expect(got.has(d.eventId)).toBe(false);
    // Attempts continue after the failed one: each redelivery's first attempt is attempt 2 (a
    // loaded machine may time one out and retry it as attempt 3).
    const firstAttempt = new Map<string, number>();
    for (const r of receiver.requests.filter((q) => q.path === '/recover-many')) {
      const id = r.headers['x-event-id'] as string;
      firstAttempt.set(id, Math.min(firstAttempt.get(id) ?? Infinity, Number(r.headers['x-attempt'])));
    }
    expect(new Set(firstAttempt.values())).toEqual(new Set([2]));
    // Successes of its redeliveries are counted on the recovery (the delivery.recovered hook).
    await eventually(async () => ((await recovery(endpointId, res.body.data.id)).delivered === 2000 ? true : undefined), 60_000, 'delivered to reach 2000');

    const one = (await stack.call('GET', `/api/v1/deliveries/${failed[0]!.deliveryId}`)).body.data;
    expect(one.status).toBe('succeeded');
    const list = (await stack.call('GET', `/api/v1/endpoints/${endpointId}/recoveries`)).body.data;
    expect(list).toMatchObject({ total: 1, items: [{ id: res.body.data.id, state: 'completed' }] });
    const audit = (await stack.call('GET', `/api/v1/audit?action=RecoveryStarted&resource_id=${endpointId}`)).body.data;
    expect(audit.items[0].details).toMatchObject({ recovery_id: res.body.data.id });
    const run = await stack.temporal.workflow.getHandle(res.body.data.workflow_id).describe();
    expect(run.status.name).toBe('COMPLETED');
  }, 900_000);
});

describe('when a recovery is cancelled', () => {
  it('then it stops starting redeliveries, ends cancelled in Temporal, and is audited', async () => {
    // 1 request/s: the recovery waits 100 s after its first page of 100, where it is cancelled.
    const endpointId = await endpointAt('/recover-cancel', { rate_limit: 1 });
    await seedDeliveries(stack.db, { tenantId: tenant(), endpointId, count: 250, ending: 'failed', createdAt: ago(30) });
    const res = await stack.call('POST', `/api/v1/endpoints/${endpointId}/recover`, { since: ago(60).toISOString() });
    expect(res.status).toBe(202);
    const rid = res.body.data.id as string;
    await eventually(async () => ((await recovery(endpointId, rid)).redelivered === 100 ? true : undefined), 60_000, 'the first page');

    const cancel = await stack.call('POST', `/api/v1/endpoints/${endpointId}/recoveries/${rid}/cancel`, { reason: 'enough' });
    expect(cancel.status).toBe(202);
    const done = await ended(endpointId, rid, 60_000);
    expect(done).toMatchObject({ state: 'cancelled', found: 250, redelivered: 100, remaining: 150 });
    expect(done.cancel_requested_at).not.toBeNull();
    // It notes its end, then stops: Cancelled in Temporal, as the UI's Cancel leaves it.
    await eventually(async () => ((await stack.temporal.workflow.getHandle(res.body.data.workflow_id).describe()).status.name === 'CANCELLED' ? true : undefined), 30_000, 'the run to end cancelled');
    const again = await stack.call('POST', `/api/v1/endpoints/${endpointId}/recoveries/${rid}/cancel`, {});
    expect(again.body).toMatchObject({ ok: false, err: 'not_running' });
    expect(again.status).toBe(409);
    const audit = (await stack.call('GET', `/api/v1/audit?action=RecoveryCancelled&resource_id=${endpointId}`)).body.data;
    expect(audit.items[0].details).toMatchObject({ recovery_id: rid, reason: 'enough' });
    // A new recovery may start once it has ended.
    const next = await stack.call('POST', `/api/v1/endpoints/${endpointId}/recover`, { since: ago(1).toISOString() });
    expect(next.status).toBe(202);
    expect((await ended(endpointId, next.body.data.id, 60_000)).state).toBe('completed');
  }, 240_000);
});

describe('when another tenant names the endpoint or the recovery', () => {
  it('then it gets 404 and starts nothing', async () => {
    const endpointId = await endpointAt('/recover-tenant');
    await seedDeliveries(stack.db, { tenantId: tenant(), endpointId, count: 3, ending: 'failed', createdAt: ago(30) });
    const mine = await stack.call('POST', `/api/v1/endpoints/${endpointId}/recover`, { since: ago(60).toISOString() });
    expect(mine.status).toBe(202);
    const other = await stack.call('POST', '/api/v1/tenants', { id: `t-${randomBytes(4).toString('hex')}`, name: 'Other', admin_key: true }, { token: PLATFORM_TOKEN });
    const key = other.body.data.admin_key.key as string;
    const asOther = (method: string, path: string, body?: unknown) => stack.call(method, path, body, { token: key });
    for (const [method, path, body] of [
      ['POST', `/api/v1/endpoints/${endpointId}/recover`, { since: ago(60).toISOString() }],
      ['GET', `/api/v1/endpoints/${endpointId}/recoveries`, undefined],
      ['GET', `/api/v1/endpoints/${endpointId}/recoveries/${mine.body.data.id}`, undefined],
      ['POST', `/api/v1/endpoints/${endpointId}/recoveries/${mine.body.data.id}/cancel`, {}],
    ] as const) {
      const res = await asOther(method, path, body);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ ok: false, err: 'not_found' });
    }
    expect(await stack.db('recoveries').where({ endpoint_id: endpointId }).count<{ n: string }[]>({ n: '*' })).toEqual([{ n: '1' }]);
    expect((await ended(endpointId, mine.body.data.id, 60_000)).redelivered).toBe(3);
  }, 120_000);
});

describe('when the window is not one', () => {
  it('then the request is refused with a clear 4xx', async () => {
    const endpointId = await endpointAt('/recover-bad');
    const post = (body: unknown) => stack.call('POST', `/api/v1/endpoints/${endpointId}/recover`, body);
    expect(await post({ since: ago(10).toISOString(), until: ago(20).toISOString() })).toMatchObject({ status: 400, body: { ok: false, err: 'invalid_window' } });
    expect(await post({ since: ago(10).toISOString(), until: new Date(Date.now() + 3_600_000).toISOString() })).toMatchObject({ status: 400, body: { err: 'invalid_window' } });
    expect(await post({ since: new Date(Date.now() + 3_600_000).toISOString() })).toMatchObject({ status: 400, body: { err: 'invalid_window' } });
    expect((await post({})).status).toBe(422);
    expect((await post({ since: 'yesterday' })).status).toBe(422);
    expect((await post({ since: ago(10).toISOString(), extra: 1 })).status).toBe(422);
    expect((await stack.call('GET', `/api/v1/endpoints/${endpointId}/recoveries/rcv_${'0'.repeat(26)}`)).status).toBe(404);
    await stack.call('PATCH', `/api/v1/endpoints/${endpointId}`, { is_active: false });
    expect(await post({ since: ago(10).toISOString() })).toMatchObject({ status: 409, body: { err: 'endpoint_inactive' } });
  });
});

describe('when a FIFO endpoint is recovered', () => {
  it('then its failed deliveries are sent again one at a time, in line order', async () => {
    const endpointId = await endpointAt('/recover-fifo', { ordering: 'fifo' });
    // Deliveries the line already went past (skipped after failing), numbered 1 to 8.
    await stack.db('endpoints').where({ id: endpointId }).update({ fifo_last_sequence: 8, fifo_done_sequence: 8 });
    await seedDeliveries(stack.db, { tenantId: tenant(), endpointId, count: 8, ending: 'failed', createdAt: ago(30), firstSequence: 1 });
    const res = await stack.call('POST', `/api/v1/endpoints/${endpointId}/recover`, { since: ago(60).toISOString() });
    expect(res.status).toBe(202);
    expect(await ended(endpointId, res.body.data.id, 120_000)).toMatchObject({ state: 'completed', found: 8, redelivered: 8 });
    const sequences = receiver.requests.filter((r) => r.path === '/recover-fifo').map((r) => Number(r.headers['x-webhook-sequence']));
    expect(sequences).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  }, 180_000);
});
