import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { insertEventWithDeliveries } from '../../src/db/events-repo';
import { newId } from '../../src/ids';
import { newDeliveries } from '../../src/services/ingest';
import { deliverySearchAttributes } from '../../src/temporal/delivery-workflows';
import type { Receiver } from '../helpers/receiver';
import { eventually, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

/** What operators see of deliveries in the Temporal UI, and how its buttons act on them. */
let stack: Stack;
let receiver: Receiver;
beforeAll(async () => {
  ({ stack, receiver } = await startStackWithReceiver());
});
afterAll(() => stopAll(stack, receiver));

let n = 0;
async function endpointAndEvent(path: string, answer: number, retry: Record<string, unknown> = { max_retries: 0 }) {
  const type = `ops.e${++n}`;
  receiver.respond((req) => (req.path === path ? { status: answer, body: `answer ${answer}` } : { status: 200 }));
  const endpoint = (await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: [type], retry_config: retry })).body.data;
  const sent = (await stack.call('POST', '/api/v1/events', { type, payload: { n } })).body.data;
  const id: string = sent.deliveries[0].id;
  const { workflow_id: workflowId } = await stack.db('deliveries').where({ id }).first();
  return { endpoint, id, workflowId, type };
}

const delivery = async (id: string) => (await stack.call('GET', `/api/v1/deliveries/${id}`)).body.data;
const inState = (id: string, status: string) =>
  eventually(async () => {
    const d = await delivery(id);
    return d?.status === status ? d : undefined;
  }, 30_000, `delivery ${id} to be ${status}`);

describe('when a delivery ends in the dead letter', () => {
  it('then its workflow is Failed with a DeliveryFailed failure that says the receiver\'s answer, and the API says failed', async () => {
    const { id, workflowId } = await endpointAndEvent('/dead', 400);
    const failed = await inState(id, 'failed');
    expect(failed.reason).toBe('not retryable: http_4xx');
    const handle = stack.temporal.workflow.getHandle(workflowId);
    expect((await handle.describe()).status.name).toBe('FAILED');
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type: 'DeliveryFailed', nonRetryable: true });
    expect(cause.message).toMatch(/^dead letter after attempt 1: POST 127\.0\.0\.1:\d+\/dead answered 400 Bad Request in \d+ ms; not retryable \(http_4xx\)$/);
    expect(cause.details).toEqual([{ reason: 'not retryable: http_4xx', attempts: 1, responseStatus: 400, errorClass: 'http_4xx' }]);
    // Visibility sees it as failed, by search attribute and by execution status.
    const log = await eventually(async () => {
      const page = (await stack.call('GET', `/api/v1/endpoints/${failed.endpoint_id}/deliveries?status=failed`)).body.data;
      return page.items.length === 1 ? page : undefined;
    }, 30_000, 'the failed delivery in the log');
    expect(log.items[0]).toMatchObject({ id, status: 'failed' });
  });
});

describe('when a delivery succeeded', () => {
  it('then a redelivery is refused (409 already_succeeded) and nothing is sent again', async () => {
    const { id } = await endpointAndEvent('/done', 200);
    await inState(id, 'succeeded');
    const again = await stack.call('POST', `/api/v1/deliveries/${id}/redeliver`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ ok: false, err: 'already_succeeded' });
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests.filter((r) => r.path === '/done')).toHaveLength(1);
  });
});

describe('when an operator presses Cancel in the Temporal UI (Temporal\'s own cancellation)', () => {
  it('then the delivery stops before its next attempt and the API shows it cancelled, with who and why', async () => {
    const { id, workflowId } = await endpointAndEvent('/ui-cancel', 503, { schedule: [60_000], jitter: 0 });
    await inState(id, 'retrying');
    const handle = stack.temporal.workflow.getHandle(workflowId);
    await handle.cancel();
    const cancelled = await inState(id, 'cancelled');
    expect(cancelled.attempts).toHaveLength(1);
    expect(cancelled.reason).toMatch(/^cancelled by /);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    await expect(handle.result()).rejects.toMatchObject({ cause: expect.any(CancelledFailure) });
    // A cancelled delivery can be sent again, once, as a new run of the same id.
    receiver.respond(() => ({ status: 200 }));
    expect((await stack.call('POST', `/api/v1/deliveries/${id}/redeliver`)).status).toBe(202);
    await inState(id, 'succeeded');
  });

  it('then the API\'s cancel takes the same path and keeps its reason', async () => {
    const { id, workflowId } = await endpointAndEvent('/api-cancel', 503, { schedule: [60_000], jitter: 0 });
    await inState(id, 'retrying');
    expect((await stack.call('POST', `/api/v1/deliveries/${id}/cancel`, { reason: 'customer asked' })).status).toBe(202);
    const cancelled = await inState(id, 'cancelled');
    expect(cancelled.reason).toBe('cancelled by bootstrap-token: customer asked');
    expect((await stack.temporal.workflow.getHandle(workflowId).describe()).status.name).toBe('CANCELLED');
  });
});

describe('when an operator terminates a delivery in the Temporal UI', () => {
  it('then the API says terminated, with the reason, and it can be redelivered', async () => {
    const { id, workflowId } = await endpointAndEvent('/ui-terminate', 503, { schedule: [60_000], jitter: 0 });
    await inState(id, 'retrying');
    await stack.temporal.workflow.getHandle(workflowId).terminate('stuck receiver');
    const terminated = await inState(id, 'terminated');
    expect(terminated.reason).toMatch(/^terminated( by \S+)?: stuck receiver$/);
    const log = await eventually(async () => {
      const page = (await stack.call('GET', `/api/v1/endpoints/${terminated.endpoint_id}/deliveries?status=terminated`)).body.data;
      return page.items.length === 1 ? page : undefined;
    }, 30_000, 'the terminated delivery in the log');
    expect(log.items[0]).toMatchObject({ id, status: 'terminated' });
    expect((await stack.call('GET', `/api/v1/endpoints/${terminated.endpoint_id}/deliveries?status=retrying`)).body.data.items).toEqual([]);
    receiver.respond(() => ({ status: 200 }));
    expect((await stack.call('POST', `/api/v1/deliveries/${id}/redeliver`)).body.data).toMatchObject({ id, first_attempt: 2 });
    await inState(id, 'succeeded');
  });
});

describe('when a delivery runs', () => {
  it('then its run has a summary and details, each attempt a summary, and its result says the answer in words', async () => {
    const { id, workflowId, type, endpoint } = await endpointAndEvent('/described', 200);
    await inState(id, 'succeeded');
    const handle = stack.temporal.workflow.getHandle(workflowId);
    const described = await handle.describe();
    const host = new URL(receiver.url).host;
    expect(await described.staticSummary()).toBe(`${type} → ${host}`);
    const details = await described.staticDetails();
    expect(details).toContain(id);
    expect(details).toContain(endpoint.id);
    expect(details).toContain(`POST ${host}/described`);
    expect(details).toContain('one attempt, no retries');
    const history = await handle.fetchHistory();
    const marker = history.events!.find((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')!;
    const summary = await stack.temporal.options.loadedDataConverter.payloadConverter.fromPayload(
      (await stack.temporal.options.loadedDataConverter.payloadCodecs[0]!.decode([marker.userMetadata!.summary!]))[0]!,
    );
    expect(summary).toBe(`POST ${host}/described — attempt 1`);
    expect(await handle.result()).toMatchObject({ status: 'succeeded', attempts: 1, reason: expect.stringMatching(/answered 200 OK in \d+ ms$/) });
  });
});

describe('when a delivery accepted before this version ended in the dead letter (a Completed run)', () => {
  it('then it still reads failed, and a redelivery sends it again as a one-step delivery', async () => {
    const type = `ops.legacy${++n}`;
    receiver.respond((req) => (req.path === '/legacy' ? { status: 400 } : { status: 200 }));
    const endpoint = (await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/legacy', events: [type], retry_config: { max_retries: 0 } })).body.data;
    const eventId = newId('evt');
    const stored = await insertEventWithDeliveries(stack.db, 'default', { id: eventId, type, body: '{"legacy":true}', idempotencyKey: null }, newDeliveries(eventId, [endpoint.id]));
    const delivery = stored.deliveries[0]!;
    // Started as the service started deliveries before: an input without `version`.
    const legacy = { tenantId: 'default', deliveryId: delivery.id, eventId, endpointId: endpoint.id, eventType: type };
    await stack.temporal.workflow.start('deliveryWorkflow', {
      taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
      workflowId: delivery.workflow_id,
      args: [legacy],
      typedSearchAttributes: deliverySearchAttributes(legacy),
    });
    const failed = await inState(delivery.id, 'failed');
    expect(failed.reason).toBe('not retryable: http_4xx');
    expect((await stack.temporal.workflow.getHandle(delivery.workflow_id).describe()).status.name).toBe('COMPLETED');

    receiver.respond(() => ({ status: 200 }));
    expect((await stack.call('POST', `/api/v1/deliveries/${delivery.id}/redeliver`)).body.data).toMatchObject({ first_attempt: 2 });
    const done = await inState(delivery.id, 'succeeded');
    expect(done.attempts.map((a: { attempt: number; response_status: number }) => [a.attempt, a.response_status])).toEqual([[1, 400], [2, 200]]);
    expect((await stack.call('POST', `/api/v1/deliveries/${delivery.id}/redeliver`)).body.err).toBe('already_succeeded');
  });
});
