import { eventually, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';
import type { Receiver } from '../helpers/receiver';

/**
 * A saturated worker still takes ingest's deliveries eagerly: the starts wait (up to
 * EAGER_ROOM_WAIT_MS) for a workflow-task slot to come free instead of leaving the first task
 * queued on the server. Four slots, two of them held by the worker's polls, and a receiver that
 * holds each request 300 ms: only two deliveries fit at once.
 */
let stack: Stack;
let receiver: Receiver;

beforeAll(
  async () =>
    ({ stack, receiver } = await startStackWithReceiver({
      eager: true,
      env: { DEFAULT_TENANT_ID: 'eager_room_tests', WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '6', WORKER_WORKFLOW_TASK_POLLERS: '2' },
    })),
);
afterAll(() => stopAll(stack, receiver));

const metric = async (line: string) => {
  const text = (await stack.call('GET', '/metrics')).body as string;
  return Number(text.split('\n').find((l) => l.startsWith(line))?.split(' ')[1] ?? 0);
};
const eagerStarts = () => metric('webhooks_delivery_starts_total{first_task="eager"}');

describe('when more deliveries arrive at once than the worker has free workflow-task slots', () => {
  it('then their starts wait for a slot and all start eagerly, and every one is delivered', async () => {
    receiver.respond(() => ({ status: 200, delayMs: 300 }));
    const endpoint = await stack.call('POST', '/api/v1/endpoints', { url: `${receiver.url}/slow`, events: ['room.test'] });
    expect(endpoint.status).toBe(201);
    const before = await eagerStarts();

    const answers = await Promise.all([1, 2, 3, 4, 5].map((n) => stack.call('POST', '/api/v1/events', { type: 'room.test', payload: { n } })));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    expect(await eagerStarts()).toBe(before + 5);
    // Each start's wait is measured; some found room at once, some waited; none gave up.
    expect(await metric('webhooks_delivery_start_room_wait_seconds_count{result="room"}')).toBe(5);
    expect(await metric('webhooks_delivery_start_room_wait_seconds_bucket{le="0.001",result="room"}')).toBeLessThan(5);
    expect(await metric('webhooks_delivery_start_room_wait_seconds_count{result="timeout"}')).toBe(0);

    const ids = answers.map((a) => a.body.data.deliveries[0].id as string);
    for (const id of ids) {
      await eventually(async () => ((await stack.call('GET', `/api/v1/deliveries/${id}`)).body.data?.status === 'succeeded' ? true : undefined), 20_000, `${id} delivered`);
    }
    expect(receiver.requests.filter((r) => r.path === '/slow')).toHaveLength(5);
    // At rest again: all six slots are back but those the worker's open polls hold.
    await eventually(async () => ((await metric('webhooks_worker_workflow_task_slots{state="free"}')) === 2 ? true : undefined), 5_000, 'slots back');
    expect(await metric('webhooks_worker_workflow_task_slots{state="reserved"}')).toBe(4);
    expect(await metric('webhooks_worker_workflow_task_slots{state="running"}')).toBe(0);
  });
});
