import { eventually, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';
import type { Receiver } from '../helpers/receiver';

/**
 * A saturated worker still takes ingest's deliveries eagerly: the starts wait (up to
 * EAGER_ROOM_WAIT_MS) for a workflow-task slot to come free instead of leaving the first task
 * queued on the server. Six slots, of which the worker's open polls hold four at rest (as the
 * slot metrics show; asserted at the end), and a receiver that holds each request 200 ms: only
 * two deliveries fit at once, so the fifth start waits for two rounds of sends. A delivery made
 * first warms the worker up, so that its first workflow tasks (the sandbox's context, compiling)
 * do not stretch those rounds past the wait on a loaded machine.
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
const roomWaits = () => metric('webhooks_delivery_start_room_wait_seconds_count{result="room"}');
const instantRooms = () => metric('webhooks_delivery_start_room_wait_seconds_bucket{le="0.001",result="room"}');
const delivered = (id: string) =>
  eventually(async () => ((await stack.call('GET', `/api/v1/deliveries/${id}`)).body.data?.status === 'succeeded' ? true : undefined), 20_000, `${id} delivered`);

describe('when more deliveries arrive at once than the worker has free workflow-task slots', () => {
  it('then their starts wait for a slot and all start eagerly, and every one is delivered', async () => {
    const endpoint = await stack.call('POST', '/api/v1/endpoints', { url: `${receiver.url}/slow`, events: ['room.test'] });
    expect(endpoint.status).toBe(201);
    const warmUp = await stack.call('POST', '/api/v1/events', { type: 'room.test', payload: { n: 0 } });
    expect(warmUp.status).toBe(202);
    await delivered(warmUp.body.data.deliveries[0].id as string);

    receiver.respond(() => ({ status: 200, delayMs: 200 }));
    const [eagerBefore, waitsBefore, instantBefore] = [await eagerStarts(), await roomWaits(), await instantRooms()];
    const answers = await Promise.all([1, 2, 3, 4, 5].map((n) => stack.call('POST', '/api/v1/events', { type: 'room.test', payload: { n } })));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    expect(await eagerStarts()).toBe(eagerBefore + 5);
    // Each start's wait is measured; some found room at once, some waited; none gave up.
    expect(await roomWaits()).toBe(waitsBefore + 5);
    expect((await instantRooms()) - instantBefore).toBeLessThan(5);
    expect(await metric('webhooks_delivery_start_room_wait_seconds_count{result="timeout"}')).toBe(0);

    for (const answer of answers) await delivered(answer.body.data.deliveries[0].id as string);
    expect(receiver.requests.filter((r) => r.path === '/slow')).toHaveLength(6);
    // At rest again: all six slots are back but those the worker's open polls hold.
    await eventually(async () => ((await metric('webhooks_worker_workflow_task_slots{state="free"}')) === 2 ? true : undefined), 5_000, 'slots back');
    expect(await metric('webhooks_worker_workflow_task_slots{state="reserved"}')).toBe(4);
    expect(await metric('webhooks_worker_workflow_task_slots{state="running"}')).toBe(0);
  });
});
