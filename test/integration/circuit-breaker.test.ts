import { randomBytes } from 'node:crypto';
import type { Worker } from '@temporalio/worker';
import { createLogger } from '../../src/logger';
import { createMetrics, type Metrics } from '../../src/metrics';
import { parseMasterKey, SecretBox } from '../../src/security/secret-box';
import { createWorker, stopWorker } from '../../src/temporal/worker';
import { Receiver, type ReceivedRequest } from '../helpers/receiver';
import { eventually, startStack, type Stack } from '../helpers/stack';

/** Circuit breaking: consecutive failures open an endpoint's circuit; deliveries wait, one probe goes, a success closes it. */
const COOLDOWN_SECONDS = 3;
const PLATFORM_TOKEN = 'platform-token-circuit-0123456789abcdefgh';

let stack: Stack;
let receiver: Receiver;
let worker: Worker;
let running: Promise<void>;
let closeWorker: () => Promise<void>;
const metrics: Metrics = createMetrics();

beforeAll(async () => {
  // A worker of this file's own, so its metrics can be read.
  stack = await startStack({ worker: false, env: { DEFAULT_TENANT_ID: `circuit-${randomBytes(4).toString('hex')}`, PLATFORM_API_TOKEN: PLATFORM_TOKEN } });
  receiver = await Receiver.start();
  const created = await createWorker({
    config: stack.config,
    address: stack.config.TEMPORAL_ADDRESS!,
    db: stack.db,
    box: new SecretBox(parseMasterKey(stack.config.MASTER_KEY!)),
    log: createLogger(stack.config.LOG_LEVEL, 'test'),
    metrics,
    workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
  });
  worker = created.worker;
  closeWorker = created.close;
  running = worker.run();
});
afterAll(async () => {
  if (worker) {
    stopWorker(worker);
    await running;
    await closeWorker();
  }
  await stack?.stop();
  await receiver?.close();
});

const at = (path: string) => receiver.requests.filter((r) => r.path === path);
const typesAt = (path: string) => at(path).map((r) => (JSON.parse(r.body) as { type: string }).type);
const getEndpoint = async (id: string) => (await stack.call('GET', `/api/v1/endpoints/${id}`)).body.data;
const counter = async (name: string, label = '') => {
  const line = (await metrics.scrape()).body.split('\n').find((l) => l.startsWith(`${name}${label}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

describe('when an endpoint fails failure_threshold times in a row', () => {
  it('then its circuit opens, deliveries wait for the cool-down, one probe goes at a time, and a success closes it for all', async () => {
    let healthy = false;
    receiver.respond((req: ReceivedRequest) => (req.path === '/breaker' && !healthy ? { status: 503 } : { status: 200, body: 'ok' }));
    await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/ops', kind: 'operational', events: ['endpoint.circuit_opened', 'endpoint.circuit_closed'] });
    const created = await stack.call('POST', '/api/v1/endpoints', {
      url: receiver.url + '/breaker',
      events: ['circuit.test'],
      retry_config: { schedule: Array(40).fill(200), jitter: 0 },
      circuit_breaker: { failure_threshold: 3, cooldown_seconds: COOLDOWN_SECONDS },
    });
    expect(created.status).toBe(201);
    const id = created.body.data.id as string;
    expect(created.body.data).toMatchObject({ circuit_breaker: { failure_threshold: 3, cooldown_seconds: COOLDOWN_SECONDS }, circuit: { state: 'closed', consecutive_failures: 0 } });

    const deliveries: string[] = [];
    for (let i = 0; i < 4; i++) deliveries.push((await stack.call('POST', '/api/v1/events', { type: 'circuit.test', payload: { i } })).body.data.deliveries[0].id);

    const open = await eventually(async () => {
      const e = await getEndpoint(id);
      return e.circuit.state !== 'closed' ? e : undefined;
    }, 60_000, 'the circuit to open');
    expect(open.circuit).toMatchObject({ opened_at: expect.any(String), next_probe_at: expect.any(String) });
    expect(open.circuit.consecutive_failures).toBeGreaterThanOrEqual(3);
    const openedAt = Date.parse(open.circuit.opened_at);

    // Two probes fail (the circuit opens again after each), one cool-down apart at least.
    await eventually(async () => (at('/breaker').filter((r) => r.at > openedAt + 1_000).length >= 2 ? true : undefined), 60_000, 'two probes');
    healthy = true;
    await eventually(async () => {
      const states = await Promise.all(deliveries.map(async (d) => (await stack.call('GET', `/api/v1/deliveries/${d}`)).body.data?.status));
      return states.every((s) => s === 'succeeded') ? true : undefined;
    }, 60_000, 'every delivery to succeed once the circuit closes');

    // Requests sent while the circuit was open (past those already on their way when it opened) were probes, one per cool-down.
    const probesAndAfter = at('/breaker').filter((r) => r.at > openedAt + 1_000);
    const failedProbes = probesAndAfter.filter((r, i) => i < probesAndAfter.length - 4);
    expect(failedProbes.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < failedProbes.length + 1 && i < probesAndAfter.length; i++) {
      expect(probesAndAfter[i].at - probesAndAfter[i - 1].at).toBeGreaterThanOrEqual(COOLDOWN_SECONDS * 1000 * 0.8);
    }
    expect(await getEndpoint(id)).toMatchObject({ circuit: { state: 'closed', consecutive_failures: 0 } });

    // Operators hear of it once each way, although failed probes opened it again.
    await eventually(async () => (typesAt('/ops').includes('endpoint.circuit_closed') ? true : undefined), 30_000, 'endpoint.circuit_closed');
    expect(typesAt('/ops').sort()).toEqual(['endpoint.circuit_closed', 'endpoint.circuit_opened']);
    const opened = JSON.parse(at('/ops').find((r) => r.body.includes('circuit_opened'))!.body).data;
    expect(opened).toMatchObject({ endpoint_id: id, failure_threshold: 3, consecutive_failures: expect.any(Number) });

    expect(await counter('webhooks_circuit_transitions_total', '{to="open"}')).toBeGreaterThanOrEqual(3);
    expect(await counter('webhooks_circuit_transitions_total', '{to="half_open"}')).toBeGreaterThanOrEqual(3);
    expect(await counter('webhooks_circuit_transitions_total', '{to="closed"}')).toBe(1);
    expect(await counter('webhooks_circuit_waits_total')).toBeGreaterThan(0);
  });
});

describe('when the circuit setting is bad, or changed', () => {
  it('then a bad setting is 422, and a new setting or switching it off closes the circuit', async () => {
    const bad = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/x', events: ['circuit.x'], circuit_breaker: { failure_threshold: -1 } });
    expect(bad.status).toBe(422);
    expect((await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/x', events: ['circuit.x'], circuit_breaker: { failure_threshold: 2, cooldown_seconds: 0 } })).status).toBe(422);
    const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/x', events: ['circuit.x'] });
    expect(created.body.data.circuit_breaker).toBeNull();
    const id = created.body.data.id as string;
    await stack.db('endpoints').where({ id }).update({ circuit_state: 'open', consecutive_failures: 7, circuit_next_probe_at: new Date(Date.now() + 60_000) });
    const changed = await stack.call('PATCH', `/api/v1/endpoints/${id}`, { circuit_breaker: { failure_threshold: 0 } });
    expect(changed.body.data).toMatchObject({ circuit_breaker: { failure_threshold: 0, cooldown_seconds: null }, circuit: { state: 'closed', consecutive_failures: 0, next_probe_at: null } });
    expect((await stack.call('PATCH', `/api/v1/endpoints/${id}`, { circuit_breaker: null })).body.data.circuit_breaker).toBeNull();
  });
});

describe('when a circuit is open for one tenant', () => {
  it("then that tenant's deliveries wait, and another tenant's deliveries to the same receiver go out", async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/shared', events: ['circuit.shared'], circuit_breaker: { failure_threshold: 1, cooldown_seconds: 3600 } });
    await stack.db('endpoints').where({ id: created.body.data.id }).update({ circuit_state: 'open', circuit_opened_at: new Date(), circuit_next_probe_at: new Date(Date.now() + 3_600_000) });
    const tenant = await stack.call('POST', '/api/v1/tenants', { id: `circuit-b-${randomBytes(4).toString('hex')}`, name: 'B', admin_key: true }, { token: PLATFORM_TOKEN });
    const key = tenant.body.data.admin_key.key as string;
    expect((await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/shared', events: ['circuit.shared'] }, { token: key })).status).toBe(201);

    const mine = (await stack.call('POST', '/api/v1/events', { type: 'circuit.shared', payload: { tenant: 'a' } })).body.data.deliveries[0].id as string;
    const theirs = (await stack.call('POST', '/api/v1/events', { type: 'circuit.shared', payload: { tenant: 'b' } }, { token: key })).body.data.deliveries[0].id as string;
    await eventually(async () => ((await stack.call('GET', `/api/v1/deliveries/${theirs}`, undefined, { token: key })).body.data?.status === 'succeeded' ? true : undefined), 60_000, "B's delivery");
    await new Promise((r) => setTimeout(r, 1_000));
    expect(at('/shared').map((r) => JSON.parse(r.body).data.tenant)).toEqual(['b']);
    const waiting = (await stack.call('GET', `/api/v1/deliveries/${mine}`)).body.data;
    expect(waiting.status).toBe('pending');
    // Operators read why in the Temporal UI (the run's current details).
    const meta = await stack.temporal.workflow.getHandle(waiting.workflow_id).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(meta.currentDetails).toContain("the endpoint's circuit is open");
    // The API's metrics count open circuits (this one is open for an hour).
    const scraped = (await stack.call('GET', '/metrics', undefined, { token: null })).body as string;
    const open = /^webhooks_endpoint_circuits\{state="open"\} (\d+)$/m.exec(scraped);
    expect(Number(open?.[1])).toBeGreaterThanOrEqual(1);
    await stack.call('POST', `/api/v1/deliveries/${mine}/cancel`, {});
  });
});
