import type { Socket } from 'node:net';
import knexFactory, { type Knex } from 'knex';
import { findFreePort } from '../../src/dev/ports';
import { RELAY_PATH } from '../../src/temporal/start-relay';
import { halfSentRequest } from '../helpers/half-sent-request';
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

/** An endpoint for `type` whose receiver answers after `delayMs`; the event's one delivery id. */
async function sendTo(path: string, type: string, delayMs: number): Promise<string> {
  receiver.respond(() => ({ status: 200, body: 'ok', delayMs }));
  const endpoint = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: [type], retry_config: { schedule: [200], jitter: 0, timeout_ms: 5000 } });
  expect(endpoint.status).toBe(201);
  const event = await stack.call('POST', '/api/v1/events', { type, payload: { n: 1 } });
  expect(event.status).toBe(202);
  return event.body.data.deliveries[0].id as string;
}

describe('when a worker process gets SIGTERM while an attempt is in flight', () => {
  it('then it finishes the attempt, records it and exits 0; the receiver sees one request', async () => {
    const worker = spawnWorker(stack.config);
    children.push(worker);
    const deliveryId = await sendTo('/drain', 'shutdown.drain', 1_500);
    await receiver.waitForRequests(1, 60_000, '/drain');
    worker.child.kill('SIGTERM');
    expect(await exited(worker.child)).toBe(0);

    // No worker runs now: what the delivery log shows was recorded before the exit.
    const delivery = (await stack.call('GET', `/api/v1/deliveries/${deliveryId}`)).body.data;
    expect(delivery).toMatchObject({ status: 'succeeded' });
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ response_status: 200, outcome: 'succeeded' });
    expect(receiver.requests.filter((r) => r.path === '/drain')).toHaveLength(1);
  });
});

describe('when a worker process gets SIGTERM while an attempt cannot finish', () => {
  let locker: Knex | undefined;
  let lock: Knex.Transaction | undefined;
  let relaySocket: Socket | undefined;
  afterAll(async () => {
    relaySocket?.destroy();
    await lock?.rollback().catch(() => undefined);
    await locker?.destroy();
  });

  it('then it gives up after WORKER_SHUTDOWN_FORCE_MS, logs what was in flight and exits 1; another worker completes the delivery', async () => {
    const relayPort = await findFreePort();
    const worker = spawnWorker(stack.config, { WORKER_SHUTDOWN_FORCE_MS: '2000', WORKER_START_PORT: String(relayPort), WORKER_START_TOKEN: 'relay-token-of-the-test' });
    children.push(worker);
    // The answer comes once the test holds a lock on the attempts table, so the attempt's
    // recording waits on it, as it would on a database that stopped answering.
    const deliveryId = await sendTo('/stuck', 'shutdown.stuck', 1_000);
    await receiver.waitForRequests(1, 60_000, '/stuck');
    locker = knexFactory({ client: 'pg', connection: stack.config.DATABASE_URL });
    lock = await locker.transaction();
    await lock.raw('lock table attempts in access exclusive mode');
    await new Promise((r) => setTimeout(r, 1_500));
    // A start relay request that never ends (its body half sent) is cut within the same bound
    // (the relay used to close before the drain began, its 10 s grace on top of the bound).
    relaySocket = await halfSentRequest(relayPort, RELAY_PATH, 'relay-token-of-the-test', '{"starts":');
    const signalled = Date.now();
    worker.child.kill('SIGTERM');
    // It exits while the lock is still held: without the bound it waited for as long as the lock.
    expect(await exited(worker.child)).toBe(1);
    expect(Date.now() - signalled).toBeLessThan(8_000);
    const failed = worker.output().split('\n').find((line) => line.includes('shutdown failed'));
    expect(failed).toBeDefined();
    expect(JSON.parse(failed!).err.message).toMatch(/^the worker did not stop in 2000 ms; in flight: \{.*"(localActivities|activities)":1/);
    await lock.rollback();
    lock = undefined;

    // The attempt cut short is retried, with the same delivery id, by the next worker.
    const next = spawnWorker(stack.config);
    children.push(next);
    await eventually(async () => ((await stack.call('GET', `/api/v1/deliveries/${deliveryId}`)).body.data.status === 'succeeded' ? true : undefined), 60_000, 'the delivery to succeed');
    const requests = receiver.requests.filter((r) => r.path === '/stuck');
    expect(new Set(requests.map((r) => r.headers['x-delivery-id']))).toEqual(new Set([deliveryId]));
    next.child.kill('SIGTERM');
    expect(await exited(next.child)).toBe(0);
  });
});
