import { temporal as proto } from '@temporalio/proto';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Receiver } from '../helpers/receiver';
import { eventually, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';
import { DeliveryStatus } from '../../src/temporal/search-attributes';
import { DELIVERY_WORKFLOW, deliveryInput, ONE_STEP_ATTEMPTS, type DeliveryIn } from '../../src/temporal/delivery-workflows';

/**
 * The API and a worker in one process, as `npm start` runs them: ingest starts deliveries
 * eagerly on that worker; and a delivery that succeeds ends with its run's close alone (no
 * `succeeded` upsert), which every reader of its state still sees as succeeded.
 */
const { EventType } = proto.api.enums.v1;
const RETRIES = { schedule: [100, 100], jitter: 0, timeout_ms: 2000 };

let stack: Stack;
let receiver: Receiver;

beforeAll(async () => ({ stack, receiver } = await startStackWithReceiver({ eager: true, env: { DEFAULT_TENANT_ID: 'one_process_tests' } })));
afterAll(() => stopAll(stack, receiver));

async function endpointFor(path: string): Promise<string> {
  const res = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: [`one.${path.slice(1)}`], retry_config: RETRIES });
  expect(res.status).toBe(201);
  return res.body.data.id as string;
}

async function deliver(path: string): Promise<{ eventId: string; deliveryId: string; workflowId: string }> {
  const res = await stack.call('POST', '/api/v1/events', { type: `one.${path.slice(1)}`, payload: { path } });
  expect(res.status).toBe(202);
  const deliveryId = res.body.data.deliveries[0].id as string;
  await eventually(async () => ((await stack.call('GET', `/api/v1/deliveries/${deliveryId}`)).body.data?.status === 'succeeded' ? true : undefined), 30_000, `${path} delivered`);
  const { workflow_id: workflowId } = await stack.db('deliveries').where({ id: deliveryId }).first();
  return { eventId: res.body.data.event_id, deliveryId, workflowId };
}

async function eventTypes(workflowId: string, runId?: string): Promise<string[]> {
  const history = await stack.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
  return (history.events ?? []).map((e) => EventType[e.eventType!]!.replace('EVENT_TYPE_', ''));
}

const metric = async (line: string) => {
  const text = (await stack.call('GET', '/metrics')).body as string;
  return Number(text.split('\n').find((l) => l.startsWith(line))?.split(' ')[1] ?? 0);
};

describe('when the API shares its process with a worker', () => {
  it('then ingest starts the delivery eagerly on it, and the run takes one workflow task and no upsert', async () => {
    const eagerBefore = await metric('webhooks_delivery_starts_total{first_task="eager"}');
    await endpointFor('/eager');
    const { workflowId } = await deliver('/eager');
    expect(await metric('webhooks_delivery_starts_total{first_task="eager"}')).toBe(eagerBefore + 1);
    expect(await eventTypes(workflowId)).toEqual([
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'MARKER_RECORDED',
      'WORKFLOW_EXECUTION_COMPLETED',
    ]);
  });
});

describe('when a delivery succeeds without a succeeded upsert', () => {
  it('then the delivery, the endpoint log and its status filters say succeeded, and a redelivery is refused', async () => {
    const endpointId = await endpointFor('/flaky');
    receiver.respond((req) => (req.path === '/flaky' && receiver.requests.filter((r) => r.path === '/flaky').length === 1 ? { status: 500 } : { status: 200 }));
    const { deliveryId, workflowId } = await deliver('/flaky');
    // The failed first attempt said `retrying`; the success is said by the close.
    expect((await eventTypes(workflowId)).filter((t) => t === 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES')).toHaveLength(1);
    expect((await stack.temporal.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(DeliveryStatus)).toBe('retrying');

    const listed = async (status: string) =>
      eventually(async () => {
        const res = await stack.call('GET', `/api/v1/endpoints/${endpointId}/deliveries?status=${status}`);
        return res.status === 200 ? (res.body.data.items as Array<{ id: string; status: string }>) : undefined;
      });
    await eventually(async () => ((await listed('succeeded')).some((d) => d.id === deliveryId) ? true : undefined), 30_000, 'the delivery under status=succeeded');
    expect((await listed('succeeded')).find((d) => d.id === deliveryId)?.status).toBe('succeeded');
    expect((await listed('retrying')).map((d) => d.id)).not.toContain(deliveryId);
    expect((await listed('pending')).map((d) => d.id)).not.toContain(deliveryId);

    const again = await stack.call('POST', `/api/v1/deliveries/${deliveryId}/redeliver`);
    expect([again.status, again.body.err]).toEqual([409, 'already_succeeded']);
  });

  it('then a version-2 run, started before this change, still marks its success with the upsert', async () => {
    const endpointId = await endpointFor('/v2');
    const { eventId, deliveryId } = await deliver('/v2');
    const input: DeliveryIn = { ...deliveryInput({ tenantId: 'one_process_tests', eventId, eventType: 'one.v2' }, { deliveryId, endpointId }), version: ONE_STEP_ATTEMPTS };
    const handle = await stack.temporal.workflow.start(DELIVERY_WORKFLOW, { taskQueue: stack.config.TEMPORAL_TASK_QUEUE, workflowId: `v2-${deliveryId}`, args: [input] });
    await handle.result();
    expect(await eventTypes(handle.workflowId)).toContain('UPSERT_WORKFLOW_SEARCH_ATTRIBUTES');
    const history = await handle.fetchHistory();
    const upsert = history.events!.find((e) => e.upsertWorkflowSearchAttributesEventAttributes)!;
    const value = upsert.upsertWorkflowSearchAttributesEventAttributes!.searchAttributes!.indexedFields!.DeliveryStatus!;
    expect(defaultPayloadConverter.fromPayload(value as never)).toBe('succeeded');
  });
});
