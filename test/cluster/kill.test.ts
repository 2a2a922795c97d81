import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import knexFactory from 'knex';
import { buildProject } from '../../src/dev/build';
import { startTemporalCluster, type RunningCluster } from '../../src/dev/cluster/cluster';
import { findFreePort } from '../../src/dev/ports';
import { SERVER_TIMER_SLACK_NS } from '../../src/dev/server-tuning';
import { createLogger } from '../../src/logger';
import { Receiver } from '../helpers/receiver';
import { ServiceProcess } from '../helpers/service-process';
import { eventually, TEST_CODEC_KEY, TEST_MASTER_KEY, TEST_TOKEN } from '../helpers/stack';

/**
 * The production shape under failure: a Temporal server on Postgres, two API processes and two
 * worker processes on one task queue (compiled, as deployed), several hundred events with
 * idempotency keys; mid-load one worker and one API are killed with SIGKILL, the Temporal server
 * is killed and started again, and every session of the test's databases is terminated twice
 * (the machine's Postgres is shared, so it is not restarted: pg_terminate_backend is what clients
 * see of a Postgres restart). The APIs hand their delivery starts to the workers' start relays, as
 * deployed (WORKER_START_URLS): the killed worker's relay goes silent, and its share of the starts
 * falls back to the APIs' own client.
 */
const EVENTS = 300;
/** The processes run compiled (`npm run build`), as the Docker image runs them. */
const AS_DEPLOYED = { compiled: true };
const CLIENTS = 6;
const TAG = randomBytes(4).toString('hex');
const EVENT_TYPE = `kill.t${TAG}`;
// The server logs errors while it is killed and its sessions end: expected here, so kept quiet.
const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'error', 'kill-test');

let cluster: RunningCluster;
let receiver: Receiver;
let apis: Array<{ process: ServiceProcess; url: string }> = [];
let workers: ServiceProcess[] = [];
/** The workers' start relays (WORKER_START_PORT), which both APIs call (WORKER_START_URLS). */
let relayPorts: number[] = [];
const RELAY_TOKEN = randomBytes(24).toString('hex');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function serviceEnv(): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATABASE_URL: process.env.TEST_DB_URL!,
    TEMPORAL_ADDRESS: cluster.address,
    TEMPORAL_TASK_QUEUE: `kill-${TAG}`,
    MASTER_KEY: TEST_MASTER_KEY,
    TEMPORAL_CODEC_KEY: TEST_CODEC_KEY,
    API_TOKEN: TEST_TOKEN,
    EGRESS_ALLOW_PRIVATE: 'true',
    WORKER_METRICS_PORT: '0',
    // The machine's Postgres is shared (100 connections): small pools.
    DATABASE_POOL_MAX: '4',
    // An event whose workflow start was lost with a killed API is started by the outbox sweep.
    HOUSEKEEPING_INTERVAL_SECONDS: '10',
    OUTBOX_GRACE_SECONDS: '5',
    WORKER_START_TOKEN: RELAY_TOKEN,
  };
}

function startWorker(n: number): ServiceProcess {
  return ServiceProcess.start(`worker-${n}`, 'src/worker.ts', { ...serviceEnv(), HOST: '127.0.0.1', WORKER_START_PORT: String(relayPorts[n - 1]) }, AS_DEPLOYED);
}

async function startApi(name: string): Promise<{ process: ServiceProcess; url: string }> {
  const port = await findFreePort();
  const relays = relayPorts.map((p) => `http://127.0.0.1:${p}`).join(',');
  const process = ServiceProcess.start(name, 'src/server.ts', { ...serviceEnv(), HOST: '127.0.0.1', PORT: String(port), WORKER_START_URLS: relays }, AS_DEPLOYED);
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => ((await fetch(`${url}/readyz`).catch(() => null))?.status === 200 ? true : undefined), 90_000, `${name} to be ready: ${process.output()}`);
  return { process, url };
}

async function waitForPollers(count: number): Promise<void> {
  const connection = await Connection.connect({ address: cluster.address });
  try {
    // Each worker bundles its workflows first: minutes on a busy machine.
    await eventually(async () => {
      const res = await connection.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: `kill-${TAG}` },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      });
      return (res.pollers?.length ?? 0) >= count ? true : undefined;
    }, 300_000, `${count} workers polling`);
  } catch (err) {
    throw new Error(`${(err as Error).message}; worker output: ${workers.map((w) => `${w.name} (alive ${w.alive}): ${w.output(800)}`).join('\n')}`, { cause: err });
  } finally {
    await connection.close();
  }
}

/** Ends every session on the test's databases, twice a second apart: what clients see of a Postgres restart. */
async function terminateDatabaseSessions(): Promise<number> {
  const names = [process.env.TEST_DB_NAME!, cluster.databases.main, cluster.databases.visibility];
  const admin = knexFactory({ client: 'pg', connection: process.env.TEST_DB_ADMIN_URL!, pool: { min: 0, max: 1 } });
  let ended = 0;
  try {
    for (let round = 0; round < 2; round++) {
      const result = await admin.raw('select pg_terminate_backend(pid) as ended from pg_stat_activity where datname = any(?) and pid <> pg_backend_pid()', [names]);
      ended += result.rows.filter((r: { ended: boolean }) => r.ended).length;
      await sleep(1_000);
    }
  } finally {
    await admin.destroy();
  }
  return ended;
}

beforeAll(async () => {
  await buildProject();
  cluster = await startTemporalCluster({
    postgresUrl: process.env.TEST_DB_ADMIN_URL!,
    database: `temporal_kill_${process.pid}`,
    namespace: 'default',
    retentionDays: 1,
    shards: 4,
    port: 0,
    maxConns: 6,
    log,
  });
  receiver = await Receiver.start();
  relayPorts = [await findFreePort(), await findFreePort()];
  apis = await Promise.all([startApi('api-1'), startApi('api-2')]);
  workers = [startWorker(1), startWorker(2)];
  await waitForPollers(2);
}, 600_000);

afterAll(async () => {
  await Promise.all([...apis.map((a) => a.process), ...workers].map((p) => p.stop('SIGKILL')));
  await receiver?.close();
  await cluster?.destroy();
}, 60_000);

interface Accepted {
  eventId: string;
  deliveryId: string;
}

describe('when a worker, an API and the Temporal server are killed and the database sessions end under load', () => {
  it('then every accepted event is delivered once per delivery id, signed, and the surviving API answered no 500', async () => {
    const created = await fetch(`${apis[0]!.url}/api/v1/endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${receiver.url}/kill`, events: [EVENT_TYPE], retry_config: { schedule: [500, 1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000, 8000], jitter: 0 } }),
    });
    expect(created.status).toBe(201);
    const endpoint = ((await created.json()) as { data: { id: string; secret: string } }).data;

    const accepted = new Map<number, Accepted>();
    const answers: Array<{ api: number; status: number; body: string }> = [];
    const unexpected: string[] = [];
    const deadline = Date.now() + 300_000;
    let next = 0;

    const send = async (i: number): Promise<void> => {
      let target = i % 2;
      for (;;) {
        if (Date.now() > deadline) return void unexpected.push(`event ${i} never accepted`);
        if (!apis[target]!.process.alive) target = 1 - target;
        try {
          const res = await fetch(`${apis[target]!.url}/api/v1/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', 'idempotency-key': `kill-${TAG}-${i}` },
            body: JSON.stringify({ type: EVENT_TYPE, payload: { i } }),
            signal: AbortSignal.timeout(20_000),
          });
          const text = await res.text();
          answers.push({ api: target, status: res.status, body: text.slice(0, 300) });
          if (res.status === 202) {
            const data = JSON.parse(text).data as { event_id: string; deliveries: Array<{ id: string }> };
            accepted.set(i, { eventId: data.event_id, deliveryId: data.deliveries[0]!.id });
            return;
          }
          if (res.status !== 503 && res.status !== 429) return void unexpected.push(`event ${i}: ${res.status} ${text.slice(0, 300)}`);
        } catch {
          // The process died or the request timed out: send it again, with the same key.
          target = 1 - target;
        }
        await sleep(250);
      }
    };
    const client = async (): Promise<void> => {
      for (let i = next++; i < EVENTS; i = next++) await send(i);
    };

    const chaos = async (): Promise<Record<string, unknown>> => {
      const when = async (share: number) => {
        while (accepted.size < EVENTS * share && next < EVENTS) await sleep(50);
      };
      await when(0.25);
      phases.push(['processes killed', Date.now()]);
      await Promise.all([workers[0]!.stop('SIGKILL'), apis[1]!.process.stop('SIGKILL')]);
      await when(0.45);
      phases.push(['Temporal restarting', Date.now()]);
      await cluster.restart(true);
      phases.push(['Temporal back', Date.now()]);
      // Started again, it runs with the timer slack every Temporal server here gets.
      slackAfterRestart = Number(readFileSync(`/proc/${cluster.pid}/timerslack_ns`, 'utf8'));
      await when(0.65);
      phases.push(['sessions terminated', Date.now()]);
      const sessionsEnded = await terminateDatabaseSessions();
      return { temporalRestartMs: phases[2]![1] - phases[1]![1], sessionsEnded };
    };
    const phases: Array<[string, number]> = [['before', 0]];
    let slackAfterRestart = 0;

    const [chaosReport] = await Promise.all([chaos(), ...Array.from({ length: CLIENTS }, client)]);
    expect(unexpected).toEqual([]);
    expect(accepted.size).toBe(EVENTS);
    expect(slackAfterRestart).toBe(SERVER_TIMER_SLACK_NS);

    const eventIds = new Set([...accepted.values()].map((a) => a.eventId));
    const received = () => new Set(receiver.requests.filter((r) => r.path === '/kill').map((r) => JSON.parse(r.body).id as string));
    await eventually(
      async () => ([...eventIds].every((id) => received().has(id)) ? true : undefined),
      240_000,
      `every accepted event delivered (${received().size} of ${eventIds.size}); worker-2: ${workers[1]!.output(800)}`,
    );

    // Every answer but 202 and 503/429 would be a failure; a 500 from the surviving API above all.
    expect(answers.filter((a) => a.status >= 500 && a.status !== 503)).toEqual([]);
    expect(answers.filter((a) => a.api === 0 && a.status === 500)).toEqual([]);

    // One event per idempotency key, one delivery id per event, every request signed with the endpoint's secret.
    const deliveryOf = new Map([...accepted.values()].map((a) => [a.eventId, a.deliveryId]));
    const key = Buffer.from(endpoint.secret.slice('whsec_'.length), 'base64');
    const requests = receiver.requests.filter((r) => r.path === '/kill');
    for (const r of requests) {
      const eventId = JSON.parse(r.body).id as string;
      expect(r.headers['x-delivery-id']).toBe(deliveryOf.get(eventId));
      const expected = createHmac('sha512', key).update(`${r.headers['x-ts']}.${r.headers['x-nonce']}.${r.body}`).digest('hex');
      expect(r.headers['x-signature']).toBe(expected);
    }
    const db = knexFactory({ client: 'pg', connection: process.env.TEST_DB_URL!, pool: { min: 0, max: 1 } });
    try {
      const [row] = await db('events').where('idempotency_key', 'like', `kill-${TAG}-%`).select(db.raw('count(*)::int as n, count(distinct idempotency_key)::int as keys'));
      expect(row).toEqual({ n: EVENTS, keys: EVENTS });
    } finally {
      await db.destroy();
    }

    // Extra sends (an event's second request and later) by the phase they happened in.
    const seen = new Set<string>();
    const extraSends: Record<string, number> = {};
    for (const r of requests) {
      const eventId = JSON.parse(r.body).id as string;
      if (!seen.has(eventId)) {
        seen.add(eventId);
        continue;
      }
      const phase = phases.filter(([, at]) => at <= r.at).at(-1)![0];
      extraSends[phase] = (extraSends[phase] ?? 0) + 1;
    }
    // The surviving API started deliveries through the workers' relays (eagerly), and itself when a relay was gone.
    const metricsText = await (await fetch(`${apis[0]!.url}/metrics`)).text();
    const starts = (firstTask: string) => Number(new RegExp(`^webhooks_delivery_starts_total\\{first_task="${firstTask}"\\} (\\d+)`, 'm').exec(metricsText)?.[1] ?? 0);
    expect(starts('eager')).toBeGreaterThan(0);
    const retried = answers.filter((a) => a.status !== 202).length;
    console.log(JSON.stringify({ kill: { events: EVENTS, requests: requests.length, extraSends, answers: answers.length, notAccepted503or429: retried, apiOneStarts: { eager: starts('eager'), queued: starts('queued') }, ...chaosReport } }));
  }, 600_000);
});
