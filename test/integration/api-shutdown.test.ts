import type { Socket } from 'node:net';
import knexFactory from 'knex';
import { halfSentRequest } from '../helpers/half-sent-request';
import { ServiceProcess } from '../helpers/service-process';
import { eventually, TEST_TOKEN, testConfig } from '../helpers/stack';
import { processEnv } from '../helpers/worker-process';

/**
 * An API process that gets SIGTERM lets the requests in progress finish (for up to
 * SHUTDOWN_GRACE_MS) before it exits: a deploy does not cut an ingest halfway through storing its
 * event, leaving its client unsure whether the event was taken.
 */
describe('when the API process gets SIGTERM while an ingest is storing its event', () => {
  const config = testConfig();
  const locker = knexFactory({ client: 'pg', connection: config.DATABASE_URL });
  let api: ServiceProcess | undefined;

  afterAll(async () => {
    await api?.stop('SIGKILL');
    await locker.destroy();
  });

  it('then that request is answered (202) and stored before the process exits 0', async () => {
    api = ServiceProcess.start('api', 'src/server.ts', { ...processEnv(config), HOST: '127.0.0.1', PORT: '0' });
    const started = api;
    const url = await eventually(async () => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(started.output(20_000))?.[1], 60_000, 'the API to listen');

    // The event's insert waits on this lock, so the request is in progress when the signal comes.
    const lock = await locker.transaction();
    await lock.raw('lock table events in access exclusive mode');
    const ingest = fetch(`${url}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', 'idempotency-key': `shutdown-${config.TEMPORAL_TASK_QUEUE}` },
      body: JSON.stringify({ type: 'shutdown.ingest', payload: { n: 1 } }),
    });
    await new Promise((r) => setTimeout(r, 1_000));
    const exited = started.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(started.alive).toBe(true);
    await lock.rollback();

    const res = await ingest;
    expect(res.status).toBe(202);
    const eventId = ((await res.json()) as { data: { event_id: string } }).data.event_id;
    await exited;
    expect(started.child.exitCode).toBe(0);
    expect(await locker('events').where({ id: eventId }).first()).toBeDefined();
  });
});

/**
 * `npm start`'s one process (`src/main.ts`: the API and a worker) stops its API and drains its
 * worker at the same time, so its stop stays within WORKER_SHUTDOWN_FORCE_MS: it used to give the
 * API's requests their whole grace (SHUTDOWN_GRACE_MS, 10 s) first and only then drain the worker
 * for up to that bound again.
 */
describe("when npm start's process gets SIGTERM while a request never finishes", () => {
  const config = testConfig();
  let one: ServiceProcess | undefined;
  let socket: Socket | undefined;

  afterAll(async () => {
    socket?.destroy();
    await one?.stop('SIGKILL');
  });

  it('then it exits 0 within WORKER_SHUTDOWN_FORCE_MS, not after the API grace and the drain one after the other', async () => {
    one = ServiceProcess.start('one-process', 'src/main.ts', { ...processEnv(config), HOST: '127.0.0.1', PORT: '0', WORKER_SHUTDOWN_FORCE_MS: '2000' });
    const started = one;
    const port = await eventually(async () => /API\s+http:\/\/127\.0\.0\.1:(\d+)\/api\/v1/.exec(started.output(20_000))?.[1], 90_000, 'the API to listen');

    // A request whose body never ends: the API keeps its connection until its grace runs out.
    socket = await halfSentRequest(Number(port), '/api/v1/events', TEST_TOKEN, '{"type":');
    await new Promise((r) => setTimeout(r, 500));

    const signalled = Date.now();
    await started.stop('SIGTERM');
    expect(Date.now() - signalled).toBeLessThan(8_000);
    expect(started.child.exitCode).toBe(0);
  });
});
