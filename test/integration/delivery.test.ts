import { createHmac } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { storeAttempt } from '../../src/db/attempts-repo';
import { insertEventWithDeliveries } from '../../src/db/events-repo';
import { newId } from '../../src/ids';
import { newDeliveries } from '../../src/services/ingest';
import { deliveryInput, STEP_WAITS_ON_CANCEL, type DeliveryIn } from '../../src/temporal/delivery-workflows';
import type { DeliveryOut } from '../../workflows/definitions';
import type { Receiver } from '../helpers/receiver';
import { eventually, historyText, startDeliveryLate, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

const FAST_RETRIES = { schedule: [200, 200, 200], jitter: 0, timeout_ms: 2000 };

let stack: Stack;
let receiver: Receiver;

beforeAll(async () => ({ stack, receiver } = await startStackWithReceiver()));
afterAll(() => stopAll(stack, receiver));

/** Each test uses its own event type (named after its path), so endpoints never share events. */
const typeFor = (path: string) => `test${path.replace(/\//g, '.')}`;

async function createEndpoint(path: string, extra: Record<string, unknown> = {}) {
  const res = await stack.call('POST', '/api/v1/endpoints', {
    url: receiver.url + path,
    events: [typeFor(path)],
    retry_config: FAST_RETRIES,
    ...extra,
  });
  expect(res.status).toBe(201);
  return res.body.data as { id: string; secret: string; key_id: string };
}

async function sendEvent(path: string, payload: unknown) {
  const type = typeFor(path);
  const res = await stack.call('POST', '/api/v1/events', { type, payload });
  expect(res.status).toBe(202);
  return res.body.data as { event_id: string; deliveries: Array<{ id: string; endpoint_id: string }> };
}

async function finishedDelivery(id: string, status = 'succeeded') {
  return eventually(async () => {
    const res = await stack.call('GET', `/api/v1/deliveries/${id}`);
    return res.body.data?.status === status ? res.body.data : undefined;
  }, 30_000, `delivery ${id} to be ${status}`);
}

/**
 * The requests `path` got, a moment after its delivery ended (a second send would have come right
 * after the first answer); the receiver answers 200 again from then on.
 */
async function requestsTo(path: string) {
  await new Promise((r) => setTimeout(r, 600));
  receiver.respond(() => ({ status: 200, body: 'ok' }));
  return receiver.requests.filter((r) => r.path === path);
}

describe('when an event is sent to a subscribed endpoint', () => {
  it('then the receiver gets the stored body, signed with HMAC-SHA512 over ts.nonce.body', async () => {
    const endpoint = await createEndpoint('/signed');
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const { event_id, deliveries } = await sendEvent('/signed', { order_id: 42, amount: 99.5 });
    expect(deliveries).toEqual([{ id: expect.stringMatching(/^dlv_/), endpoint_id: endpoint.id }]);

    const [request] = await receiver.waitForRequests(1, 30_000, '/signed');
    const h = request!.headers;
    const key = Buffer.from(endpoint.secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha512', key).update(`${h['x-ts']}.${h['x-nonce']}.${request!.body}`).digest('hex');
    expect(h['x-signature']).toBe(expected);
    expect(h['x-key-id']).toBe(endpoint.key_id);
    expect(h['x-delivery-id']).toBe(deliveries[0]!.id);
    expect(Math.abs(Number(h['x-ts']) - Date.now() / 1000)).toBeLessThan(30);
    expect(JSON.parse(request!.body)).toEqual({
      id: event_id,
      type: 'test.signed',
      timestamp: expect.any(String),
      data: { order_id: 42, amount: 99.5 },
    });

    const delivery = await finishedDelivery(deliveries[0]!.id);
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ attempt: 1, response_status: 200, outcome: 'succeeded', response_excerpt: 'ok' });
  });

  it('then the secret appears nowhere in the workflow history', async () => {
    const endpoint = await createEndpoint('/history');
    const { deliveries } = await sendEvent('/history', { n: 1 });
    await finishedDelivery(deliveries[0]!.id);
    const workflowId = (await stack.db('deliveries').where({ id: deliveries[0]!.id }).first()).workflow_id;
    const text = await historyText(stack, workflowId);
    expect(text).not.toContain(endpoint.secret);
    expect(text).not.toContain(endpoint.secret.slice('whsec_'.length));
    // The check could fail: the attempt's result does reach history (decoded from the codec).
    expect(text).toContain('responseExcerpt');
    expect(text).toContain(deliveries[0]!.id);
  });
});

describe('when the receiver fails twice and then succeeds', () => {
  it('then the delivery log shows three attempts with their status codes', async () => {
    await createEndpoint('/flaky');
    receiver.respond((req, i) => {
      if (req.path !== '/flaky') return { status: 200 };
      const n = receiver.requests.slice(0, i + 1).filter((r) => r.path === '/flaky').length;
      return n === 1 ? { status: 500, body: 'boom' } : n === 2 ? { status: 503 } : { status: 204 };
    });
    const { deliveries } = await sendEvent('/flaky', { n: 2 });
    const delivery = await finishedDelivery(deliveries[0]!.id);
    expect(delivery.attempts.map((a: { response_status: number }) => a.response_status)).toEqual([500, 503, 204]);
    expect(delivery.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(['retryable', 'retryable', 'succeeded']);
    expect(delivery.attempts[0]).toMatchObject({ attempt: 1, error_class: 'http_5xx', response_excerpt: 'boom' });
    expect(delivery.next_attempt_at).toBeNull();

    const requests = receiver.requests.filter((r) => r.path === '/flaky');
    expect(new Set(requests.map((r) => r.headers['x-delivery-id'])).size).toBe(1);
    expect(new Set(requests.map((r) => r.headers['x-nonce'])).size).toBe(3);
    receiver.respond(() => ({ status: 200, body: 'ok' }));
  });
});

describe('when the receiver answers 400', () => {
  it('then there is one attempt, the delivery failed, and no retry', async () => {
    await createEndpoint('/reject');
    receiver.respond((req) => (req.path === '/reject' ? { status: 400, body: 'bad' } : { status: 200 }));
    const { deliveries } = await sendEvent('/reject', { n: 3 });
    const delivery = await finishedDelivery(deliveries[0]!.id, 'failed');
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ response_status: 400, outcome: 'failed', error_class: 'http_4xx', delivery_status: 'failed' });
    expect(delivery.reason).toBe('not retryable: http_4xx');
    await new Promise((r) => setTimeout(r, 600));
    expect(receiver.requests.filter((r) => r.path === '/reject')).toHaveLength(1);
    receiver.respond(() => ({ status: 200, body: 'ok' }));
  });
});

describe('when a delivery is waiting for its next attempt', () => {
  it('then the API shows next_attempt_at, and a cancel ends it as cancelled', async () => {
    await createEndpoint('/slow-retry', { retry_config: { schedule: [60_000], jitter: 0 } });
    receiver.respond((req) => (req.path === '/slow-retry' ? { status: 502 } : { status: 200 }));
    const { deliveries } = await sendEvent('/slow-retry', { n: 4 });
    const id = deliveries[0]!.id;
    const waiting = await finishedDelivery(id, 'retrying');
    expect(Date.parse(waiting.next_attempt_at)).toBeGreaterThan(Date.now() + 30_000);
    const cancel = await stack.call('POST', `/api/v1/deliveries/${id}/cancel`, { reason: 'test' });
    expect(cancel.status).toBe(202);
    const cancelled = await finishedDelivery(id, 'cancelled');
    expect(cancelled.attempts).toHaveLength(1);
    expect(cancelled.next_attempt_at).toBeNull();
    receiver.respond(() => ({ status: 200, body: 'ok' }));
  });
});

describe('when a delivery is cancelled while its attempt waits for the receiver', () => {
  /** Sends an event to `path`, whose receiver answers `answer` after 1.5 s, and cancels the delivery once its request arrived. */
  async function cancelWhileReceiverHolds(path: string, answer: { status: number; body?: string }, payload: unknown): Promise<string> {
    await createEndpoint(path);
    receiver.respond((req) => (req.path === path ? { ...answer, delayMs: 1500 } : { status: 200 }));
    const { deliveries } = await sendEvent(path, payload);
    const id = deliveries[0]!.id;
    await receiver.waitForRequests(1, 30_000, path);
    const cancel = await stack.call('POST', `/api/v1/deliveries/${id}/cancel`, { reason: 'test' });
    expect(cancel.status).toBe(202);
    return id;
  }


  it('then the attempt finishes and is recorded, the receiver is not called again, and the delivery keeps its answer', async () => {
    // The task that records the attempt also closes the run, and Temporal refuses it because the
    // cancel came in meanwhile: the step runs again and must answer from the stored attempt.
    const id = await cancelWhileReceiverHolds('/cancel-in-flight', { status: 200, body: 'late ok' }, { n: 41 });
    const delivered = await finishedDelivery(id, 'succeeded');
    expect(delivered.attempts).toHaveLength(1);
    expect(delivered.attempts[0]).toMatchObject({ response_status: 200, outcome: 'succeeded', response_excerpt: 'late ok' });
    expect(await requestsTo('/cancel-in-flight')).toHaveLength(1);
  });

  it('then a failed answer is recorded and the delivery ends cancelled, without a second attempt', async () => {
    const id = await cancelWhileReceiverHolds('/cancel-in-flight-502', { status: 502 }, { n: 42 });
    const cancelled = await finishedDelivery(id, 'cancelled');
    expect(cancelled.attempts).toHaveLength(1);
    expect(cancelled.attempts[0]).toMatchObject({ response_status: 502, outcome: 'retryable' });
    expect(await requestsTo('/cancel-in-flight-502')).toHaveLength(1);
  });
});

describe('when a delivery is cancelled before its first task runs', () => {
  /**
   * A stored delivery whose workflow starts 1 s late and is cancelled at once, so that its first
   * task also carries the cancel: as a task run again after a cancel came in, or one taken over
   * from a worker that stopped after sending. With `stored`, an earlier run's attempt (answered
   * 200) is in the database already.
   */
  async function startCancelled(path: string, stored: boolean) {
    const endpoint = await createEndpoint(path);
    const tenantId = (await stack.db('endpoints').where({ id: endpoint.id }).first()).tenant_id as string;
    const eventId = newId('evt');
    const { deliveries } = await insertEventWithDeliveries(
      stack.db,
      tenantId,
      { id: eventId, type: typeFor(path), body: JSON.stringify({ id: eventId, type: typeFor(path), data: {} }), idempotencyKey: null },
      newDeliveries(eventId, [endpoint.id]),
    );
    const delivery = deliveries[0]!;
    if (stored) {
      await storeAttempt(
        stack.db,
        {
          tenant_id: tenantId,
          delivery_id: delivery.id,
          endpoint_id: endpoint.id,
          event_id: eventId,
          attempt: 1,
          outcome: 'succeeded',
          started_at: new Date(),
          duration_ms: 12,
          response_status: 200,
          error_class: null,
          error_message: null,
          response_excerpt: 'sent by an earlier run',
          delivery_status: 'succeeded',
        },
        { reachedReceiver: true, keyIds: [] },
      );
    }
    const input: DeliveryIn = deliveryInput({ tenantId, eventId, eventType: typeFor(path) }, { deliveryId: delivery.id, endpointId: endpoint.id });
    expect(input.version).toBe(STEP_WAITS_ON_CANCEL);
    const handle = await startDeliveryLate(stack, delivery.workflow_id, input);
    await handle.cancel();
    return handle;
  }

  it('then the attempt an earlier run stored is its attempt, and the receiver is not called', async () => {
    const handle = await startCancelled('/cancel-before-run-stored', true);
    const out = (await handle.result()) as DeliveryOut;
    expect(out).toMatchObject({ status: 'succeeded', attempts: 1, lastResponseStatus: 200 });
    expect(await historyText(stack, handle.workflowId)).toContain('sent by an earlier run');
    expect(await requestsTo('/cancel-before-run-stored')).toHaveLength(0);
  });

  it('then without a stored attempt it ends cancelled, nothing sent', async () => {
    const handle = await startCancelled('/cancel-before-run-unsent', false);
    const err = await handle.result().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(await requestsTo('/cancel-before-run-unsent')).toHaveLength(0);
  });
});

describe('when the receiver keeps failing past the schedule', () => {
  it('then the delivery fails after max_retries + 1 attempts', async () => {
    await createEndpoint('/down', { retry_config: { max_retries: 2, retry_delay: 100, backoff_multiplier: 2, jitter: 0 } });
    receiver.respond((req) => (req.path === '/down' ? { status: 500 } : { status: 200 }));
    const { deliveries } = await sendEvent('/down', { n: 5 });
    const delivery = await finishedDelivery(deliveries[0]!.id, 'failed');
    expect(delivery.attempts).toHaveLength(3);
    // Each attempt keeps what the receiver did (500: retryable); delivery_status is the verdict
    // the delivery reached with it, so the last one says the delivery failed, and why.
    expect(delivery.attempts.map((a: { outcome: string; delivery_status: string }) => [a.outcome, a.delivery_status])).toEqual([
      ['retryable', 'retrying'],
      ['retryable', 'retrying'],
      ['retryable', 'failed'],
    ]);
    expect(delivery).toMatchObject({ status: 'failed', reason: 'retries exhausted' });
    receiver.respond(() => ({ status: 200, body: 'ok' }));
  });
});

describe('when the receiver answers 410 Gone', () => {
  it('then the delivery fails and the endpoint receives nothing new', async () => {
    const endpoint = await createEndpoint('/gone');
    receiver.respond((req) => (req.path === '/gone' ? { status: 410 } : { status: 200 }));
    const { deliveries } = await sendEvent('/gone', { n: 6 });
    await finishedDelivery(deliveries[0]!.id, 'failed');
    const after = await stack.call('GET', `/api/v1/endpoints/${endpoint.id}`);
    expect(after.body.data).toMatchObject({ is_active: false, disabled_reason: 'the receiver answered 410 Gone' });
    const next = await sendEvent('/gone', { n: 7 });
    expect(next.deliveries).toEqual([]);
    receiver.respond(() => ({ status: 200, body: 'ok' }));
  });
});

describe('when the receiver asks to Retry-After longer than the schedule', () => {
  it('then the next attempt waits at least that long', async () => {
    await createEndpoint('/later', { retry_config: { schedule: [50], jitter: 0 } });
    receiver.respond((req, i) => {
      if (req.path !== '/later') return { status: 200 };
      const first = receiver.requests.slice(0, i).every((r) => r.path !== '/later');
      return first ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 };
    });
    const { deliveries } = await sendEvent('/later', { n: 8 });
    const delivery = await finishedDelivery(deliveries[0]!.id);
    const [a, b] = receiver.requests.filter((r) => r.path === '/later');
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(1900);
    expect(delivery.attempts[0]).toMatchObject({ response_status: 429, error_class: 'rate_limited' });
    receiver.respond(() => ({ status: 200, body: 'ok' }));
  });
});

describe('when a failed delivery is redelivered after the receiver is fixed', () => {
  it('then it succeeds under the same delivery id, its attempts continue across both runs, and it counts once as succeeded', async () => {
    const endpoint = await createEndpoint('/redeliver', { retry_config: { max_retries: 1, retry_delay: 100, jitter: 0 } });
    receiver.respond((req) => (req.path === '/redeliver' ? { status: 503 } : { status: 200 }));
    const { deliveries } = await sendEvent('/redeliver', { n: 9 });
    const id = deliveries[0]!.id;
    await finishedDelivery(id, 'failed');
    const failedStats = (await stack.call('GET', `/api/v1/endpoints/${endpoint.id}`)).body.data.delivery_stats;
    expect(failedStats).toMatchObject({ successful_deliveries: 0, failed_deliveries: 1 });

    receiver.respond(() => ({ status: 200, body: 'ok' }));
    const again = await stack.call('POST', `/api/v1/deliveries/${id}/redeliver`);
    expect(again.status).toBe(202);
    expect(again.body.data).toMatchObject({ id, first_attempt: 3, run_id: expect.any(String) });
    const delivered = await finishedDelivery(id, 'succeeded');
    expect(delivered.attempts.map((a: { attempt: number; response_status: number }) => [a.attempt, a.response_status])).toEqual([[1, 503], [2, 503], [3, 200]]);

    const requests = receiver.requests.filter((r) => r.path === '/redeliver');
    expect(requests.map((r) => r.headers['x-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(requests.map((r) => r.headers['x-delivery-id']))).toEqual(new Set([id]));
    const stats = (await stack.call('GET', `/api/v1/endpoints/${endpoint.id}`)).body.data.delivery_stats;
    expect(stats).toMatchObject({ total_deliveries: 1, successful_deliveries: 1, failed_deliveries: 0, total_attempts: 3 });
    const audit = await stack.call('GET', `/api/v1/audit?action=DeliveryRedelivered&resource_id=${id}`);
    expect(audit.body.data.items).toHaveLength(1);
  });

  it('then a delivery still in progress, or to a deactivated endpoint, is refused with 409', async () => {
    const endpoint = await createEndpoint('/redeliver-busy', { retry_config: { schedule: [60_000], jitter: 0 } });
    receiver.respond((req) => (req.path === '/redeliver-busy' ? { status: 500 } : { status: 200 }));
    const { deliveries } = await sendEvent('/redeliver-busy', { n: 10 });
    const id = deliveries[0]!.id;
    await finishedDelivery(id, 'retrying');
    const busy = await stack.call('POST', `/api/v1/deliveries/${id}/redeliver`);
    expect(busy.status).toBe(409);
    expect(busy.body).toMatchObject({ ok: false, err: 'in_progress' });

    await stack.call('POST', `/api/v1/deliveries/${id}/cancel`, {});
    await finishedDelivery(id, 'cancelled');
    await stack.call('PATCH', `/api/v1/endpoints/${endpoint.id}`, { is_active: false });
    const inactive = await stack.call('POST', `/api/v1/deliveries/${id}/redeliver`);
    expect(inactive.status).toBe(409);
    expect(inactive.body).toMatchObject({ ok: false, err: 'endpoint_inactive' });
    receiver.respond(() => ({ status: 200, body: 'ok' }));
  });
});
