import { Receiver } from '../helpers/receiver';
import { eventually, startStack, type Stack } from '../helpers/stack';
import { exited, spawnWorker } from '../helpers/worker-process';

let stack: Stack;
let receiver: Receiver;
const children: Array<ReturnType<typeof spawnWorker>> = [];

beforeAll(async () => {
  stack = await startStack({ worker: false });
  receiver = await Receiver.start();
});
afterAll(async () => {
  for (const { child } of children) child.kill('SIGKILL');
  await stack?.stop();
  await receiver?.close();
});

describe('when the worker is killed while a delivery is in flight', () => {
  it('then a restarted worker completes it with the same delivery id', async () => {
    const endpoint = await stack.call('POST', '/api/v1/endpoints', {
      url: receiver.url + '/crash',
      events: ['crash.test'],
      retry_config: { schedule: [200], jitter: 0, timeout_ms: 1500 },
    });
    expect(endpoint.status).toBe(201);
    // The first request never gets an answer: the worker dies while waiting for it.
    receiver.respond((_req, index) => (index === 0 ? 'hang' : { status: 200, body: 'ok' }));

    const first = spawnWorker(stack.config);
    children.push(first);
    const event = await stack.call('POST', '/api/v1/events', { type: 'crash.test', payload: { n: 1 } });
    expect(event.status).toBe(202);
    const deliveryId = event.body.data.deliveries[0].id;

    await receiver.waitForRequests(1, 60_000);
    first.child.kill('SIGKILL');
    await exited(first.child);

    const second = spawnWorker(stack.config);
    children.push(second);
    const delivery = await eventually(async () => {
      const res = await stack.call('GET', `/api/v1/deliveries/${deliveryId}`);
      return res.body.data.status === 'succeeded' ? res.body.data : undefined;
    }, 60_000, `delivery to succeed (worker output: ${second.output().slice(-500)})`);

    const requests = receiver.requests.filter((r) => r.path === '/crash');
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(new Set(requests.map((r) => r.headers['x-delivery-id']))).toEqual(new Set([deliveryId]));
    expect(delivery.attempts.at(-1)).toMatchObject({ response_status: 200, outcome: 'succeeded' });
    second.child.kill('SIGTERM');
    await exited(second.child);
  });
});
