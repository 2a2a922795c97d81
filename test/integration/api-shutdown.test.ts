import knexFactory from 'knex';
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
