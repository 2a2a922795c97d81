import { randomBytes } from 'node:crypto';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import type { RecordIn } from '../../activities/types';
import { reportAttempt } from '../../activities/attempt-reports';
import { attemptKey } from '../../activities/endpoint-health';
import { storeAttempt } from '../../src/db/attempts-repo';
import { deactivateEndpoint } from '../../src/db/endpoints-repo';
import { insertEventWithDeliveries } from '../../src/db/events-repo';
import type { AttemptResult } from '../../src/domain/delivery';
import { OutboundDispatchers } from '../../src/http/dispatchers';
import { newId } from '../../src/ids';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import { egressPolicy } from '../../src/security/egress';
import { parseMasterKey, SecretBox } from '../../src/security/secret-box';
import { eventBody, newDeliveries } from '../../src/services/ingest';
import { deliveryInput } from '../../src/temporal/delivery-workflows';
import { verify } from '../../src/security/verify';
import type { ReceivedRequest, Receiver } from '../helpers/receiver';
import { eventually, startStackWithReceiver, stopAll, TEST_MASTER_KEY, type Stack } from '../helpers/stack';

/** Operational webhooks: the service's own events about a tenant's endpoints, deliveries and keys. */
const PLATFORM_TOKEN = 'platform-token-opwebhooks-0123456789abcdef';
const TENANT = `opwh-${randomBytes(4).toString('hex')}`;

let stack: Stack;
let receiver: Receiver;
beforeAll(async () => {
  ({ stack, receiver } = await startStackWithReceiver({
    env: { DEFAULT_TENANT_ID: TENANT, ENDPOINT_DISABLE_AFTER_SECONDS: '4', PLATFORM_API_TOKEN: PLATFORM_TOKEN },
  }));
  receiver.respond((req) => answers.get(req.path)?.(req) ?? { status: 200, body: 'ok' });
});
afterAll(() => stopAll(stack, receiver));

/** What each receiver path answers; the rest answer 200. */
const answers = new Map<string, (req: ReceivedRequest) => { status: number }>();

interface OperationalBody {
  id: string;
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}
const received = (path: string) => receiver.requests.filter((r) => r.path === path);
const bodiesAt = (path: string) => received(path).map((r) => JSON.parse(r.body) as OperationalBody);
const about = (path: string, key: string, value: unknown) => bodiesAt(path).filter((b) => b.data[key] === value);

async function endpoint(body: Record<string, unknown>, token?: string) {
  const res = await stack.call('POST', '/api/v1/endpoints', body, { token });
  expect(res.status).toBe(201);
  return res.body.data as { id: string; secret: string };
}
const operational = (path: string, extra: Record<string, unknown> = {}, token?: string) =>
  endpoint({ url: receiver.url + path, kind: 'operational', events: ['*'], ...extra }, token);

let ops: { id: string; secret: string };
beforeAll(async () => {
  ops = await operational('/ops');
});

describe('when the catalog is read and operational types are misused', () => {
  it('then every operational type is listed with its JSON Schema, and no tenant may send, define or wrongly subscribe to one', async () => {
    const catalog = await stack.call('GET', '/api/v1/event-types?category=operational');
    expect(catalog.status).toBe(200);
    const names = catalog.body.data.categories[0].event_types.map((t: { name: string }) => t.name);
    expect(names).toEqual(expect.arrayContaining(['endpoint.disabled', 'endpoint.failing', 'delivery.exhausted', 'delivery.recovered', 'key.rotated', 'key.expiring', 'endpoint.circuit_opened', 'endpoint.circuit_closed']));
    const ajv = new Ajv({ strict: false });
    addFormats(ajv);
    for (const name of names) {
      const one = await stack.call('GET', `/api/v1/event-types/${name}`);
      expect(one.body.data).toMatchObject({ name, category: 'operational', payload_schema: expect.any(Object) });
      expect(ajv.validate(one.body.data.payload_schema, one.body.data.example_payload)).toBe(true);
    }

    const sent = await stack.call('POST', '/api/v1/events', { type: 'endpoint.disabled', payload: { endpoint_id: 'ep_x' } });
    expect(sent.status).toBe(422);
    expect(sent.body).toMatchObject({ ok: false, err: 'reserved_event_type' });
    const defined = await stack.call('POST', '/api/v1/event-types', { name: 'key.rotated' });
    expect(defined.body).toMatchObject({ ok: false, err: 'reserved_event_type' });
    expect((await stack.call('DELETE', '/api/v1/event-types/key.rotated')).status).toBe(422);

    const standardOnOps = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/x', events: ['endpoint.failing'] });
    expect(standardOnOps.status).toBe(422);
    expect(standardOnOps.body.msg).toContain('"kind": "operational"');
    const opsOnTenantType = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/x', kind: 'operational', events: ['order.created'] });
    expect(opsOnTenantType.status).toBe(422);
    const filtered = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/x', kind: 'operational', events: ['*'], filters: { percent: { gte: 90 } } });
    expect(filtered.status).toBe(422);
    expect(filtered.body.details[0].path).toBe('body.filters');
    const badKind = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/x', kind: 'alerts', events: ['*'] });
    expect(badKind.status).toBe(422);

    const openapi = (await stack.call('GET', '/api/v1/openapi.json', undefined, { token: null })).body;
    expect(Object.keys(openapi.webhooks).sort()).toEqual([...names].sort());
    const endpointBody = openapi.paths['/endpoints'].post.requestBody.content['application/json'].schema.properties;
    expect(endpointBody.kind.enum).toEqual(['standard', 'operational']);
    expect(endpointBody.circuit_breaker).toBeDefined();

    const listed = await stack.call('GET', '/api/v1/endpoints?kind=operational');
    expect(listed.body.data.items.map((e: { id: string }) => e.id)).toContain(ops.id);
    expect(listed.body.data.items.every((e: { kind: string }) => e.kind === 'operational')).toBe(true);
  });
});

describe('when an endpoint keeps failing until it is disabled, and an operational endpoint fails too', () => {
  it('then endpoint.failing comes at 50, 70, 90 and 100 % once each and endpoint.disabled once, signed and valid, and the failing operational endpoint causes nothing about itself', async () => {
    answers.set('/down', () => ({ status: 503 }));
    answers.set('/ops-down', () => ({ status: 500 }));
    const opsDown = await operational('/ops-down', { retry_config: { schedule: Array(12).fill(200), jitter: 0 } });
    const down = await endpoint({ url: receiver.url + '/down', events: ['opw.down'], retry_config: { schedule: Array(40).fill(250), jitter: 0 } });
    // A tenant's catch-all never gets operational events.
    const catchAll = await endpoint({ url: receiver.url + '/all', events: ['*'] });
    expect((await stack.call('POST', '/api/v1/events', { type: 'opw.down', payload: { n: 1 } })).status).toBe(202);

    const disabled = await eventually(async () => {
      const reports = about('/ops', 'endpoint_id', down.id);
      return reports.filter((b) => b.type === 'endpoint.failing').length >= 4 ? reports.find((b) => b.type === 'endpoint.disabled') : undefined;
    }, 60_000, 'endpoint.failing four times and endpoint.disabled');
    expect(disabled.data).toMatchObject({ endpoint_id: down.id, endpoint_url: receiver.url + '/down', reason: expect.stringContaining('no successful attempt') });
    const failing = about('/ops', 'endpoint_id', down.id).filter((b) => b.type === 'endpoint.failing');
    // Each share once (their deliveries are separate workflows: they may arrive in any order).
    expect(failing.map((b) => b.data.percent as number).sort((a, b) => a - b)).toEqual([50, 70, 90, 100]);
    expect(new Set(failing.map((b) => b.data.failing_since)).size).toBe(1);

    // The failing operational endpoint has failed past half of the disable threshold by now, more than once.
    await eventually(async () => {
      const times = received('/ops-down').map((r) => r.at);
      return times.length > 2 && times.at(-1)! - times[0] > 3_000 ? true : undefined;
    }, 60_000, 'the operational endpoint to keep failing');
    await new Promise((r) => setTimeout(r, 1_500));
    const everything = [...bodiesAt('/ops'), ...bodiesAt('/ops-down')];
    expect(everything.filter((b) => JSON.stringify(b.data).includes(opsDown.id))).toEqual([]);
    expect(about('/ops', 'endpoint_id', down.id).filter((b) => b.type === 'endpoint.disabled')).toHaveLength(1);
    expect(received('/all').length).toBeGreaterThan(0);
    expect(bodiesAt('/all').filter((b) => b.type.startsWith('endpoint.') || b.type.startsWith('delivery.') || b.type.startsWith('key.'))).toEqual([]);
    expect(catchAll.id).toBeDefined();

    // Signed like any delivery, and valid against the catalog's schemas.
    const ajv = new Ajv({ strict: false });
    addFormats(ajv);
    for (const r of received('/ops')) {
      expect(() => verify('x-signature', r.headers as Record<string, string>, r.body, [ops.secret], 300)).not.toThrow();
      const body = JSON.parse(r.body) as OperationalBody;
      const schema = (await stack.call('GET', `/api/v1/event-types/${body.type}`)).body.data.payload_schema;
      expect({ type: body.type, valid: ajv.validate(schema, body.data) }).toEqual({ type: body.type, valid: true });
    }
    // Logged like any event: listed, with a delivery per operational endpoint.
    const listed = await stack.call('GET', '/api/v1/events?type=endpoint.failing');
    expect(listed.body.data.items.length).toBeGreaterThanOrEqual(4);
  });
});

describe('when a delivery ends in the dead letter and is then redelivered with success', () => {
  it('then delivery.exhausted and delivery.recovered come once each', async () => {
    let calls = 0;
    answers.set('/flaky', () => (++calls === 1 ? { status: 400 } : { status: 200 }));
    const flaky = await endpoint({ url: receiver.url + '/flaky', events: ['opw.flaky'], retry_config: { max_retries: 0 } });
    const sent = await stack.call('POST', '/api/v1/events', { type: 'opw.flaky', payload: { n: 1 } });
    // The tenant's catch-all endpoint gets the event too: take the delivery to this one.
    const deliveryId = sent.body.data.deliveries.find((d: { endpoint_id: string }) => d.endpoint_id === flaky.id).id as string;
    const exhausted = await eventually(async () => about('/ops', 'delivery_id', deliveryId).find((b) => b.type === 'delivery.exhausted'), 60_000, 'delivery.exhausted');
    expect(exhausted.data).toMatchObject({ event_type: 'opw.flaky', attempts: 1, last_response_status: 400 });

    await eventually(async () => ((await stack.call('GET', `/api/v1/deliveries/${deliveryId}`)).body.data?.status === 'failed' ? true : undefined), 30_000, 'failed');
    expect((await stack.call('POST', `/api/v1/deliveries/${deliveryId}/redeliver`)).status).toBe(202);
    const recovered = await eventually(async () => about('/ops', 'delivery_id', deliveryId).find((b) => b.type === 'delivery.recovered'), 60_000, 'delivery.recovered');
    expect(recovered.data).toMatchObject({ attempt: 2, event_type: 'opw.flaky' });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(about('/ops', 'delivery_id', deliveryId).map((b) => b.type).sort()).toEqual(['delivery.exhausted', 'delivery.recovered']);
  });
});

describe("when a standard endpoint's key is rotated, and an operational endpoint's own key is", () => {
  it('then key.rotated and key.expiring come for the standard one only, without key material', async () => {
    const target = await endpoint({ url: receiver.url + '/keyed', events: ['opw.keyed'] });
    const rotated = await stack.call('POST', '/api/v1/keys/rotate', { scope: { type: 'endpoint', id: target.id }, grace_seconds: 3 });
    expect(rotated.status).toBe(202);
    expect((await stack.call('POST', '/api/v1/keys/rotate', { scope: { type: 'endpoint', id: ops.id }, grace_seconds: 3 })).status).toBe(202);
    const rotatedEvent = await eventually(async () => about('/ops', 'scope_id', target.id).find((b) => b.type === 'key.rotated'), 60_000, 'key.rotated');
    const expiring = await eventually(async () => about('/ops', 'scope_id', target.id).find((b) => b.type === 'key.expiring'), 60_000, 'key.expiring');
    expect(rotatedEvent.data).toMatchObject({ scope_type: 'endpoint', trigger: expect.any(String), new_key_id: expect.stringMatching(/^key_/), old_key_ids: [expect.stringMatching(/^key_/)] });
    expect(expiring.data).toMatchObject({ key_ids: rotatedEvent.data.old_key_ids, expires_at: rotatedEvent.data.grace_expires_at });
    expect(JSON.stringify(bodiesAt('/ops'))).not.toContain(target.secret.replace(/^whsec_/, ''));
    await new Promise((r) => setTimeout(r, 4_000));
    expect(about('/ops', 'scope_id', ops.id)).toEqual([]);
  });
});

describe('when another tenant has operational endpoints too', () => {
  it("then each tenant's operational endpoints hear about that tenant only", async () => {
    const tenant = await stack.call('POST', '/api/v1/tenants', { id: `opwh-b-${randomBytes(4).toString('hex')}`, name: 'B', admin_key: true }, { token: PLATFORM_TOKEN });
    expect(tenant.status).toBe(201);
    const key = tenant.body.data.admin_key.key as string;
    await operational('/ops-b', {}, key);
    answers.set('/b-down', () => ({ status: 400 }));
    await endpoint({ url: receiver.url + '/b-down', events: ['opw.b'], retry_config: { max_retries: 0 } }, key);
    const sent = await stack.call('POST', '/api/v1/events', { type: 'opw.b', payload: { n: 1 } }, { token: key });
    const deliveryId = sent.body.data.deliveries[0].id as string;
    await eventually(async () => about('/ops-b', 'delivery_id', deliveryId).find((b) => b.type === 'delivery.exhausted'), 60_000, "B's delivery.exhausted");
    await new Promise((r) => setTimeout(r, 1_000));
    expect(about('/ops', 'delivery_id', deliveryId)).toEqual([]);
    const tenantA = new Set([...bodiesAt('/ops')].map((b) => b.id));
    expect(bodiesAt('/ops-b').filter((b) => tenantA.has(b.id))).toEqual([]);
    expect(bodiesAt('/ops-b').every((b) => b.data.delivery_id === deliveryId || b.data.endpoint_id !== undefined)).toBe(true);
    // B's operational endpoint is not A's to read.
    expect((await stack.call('GET', '/api/v1/events?type=delivery.exhausted', undefined, { token: key })).body.data.items).toHaveLength(1);
  });
});

/**
 * A delivery's last attempt (`status` answered, one attempt allowed) as the first run of its step
 * left it when its worker stopped right after the attempt's statement: the attempt stored, and,
 * with `disabled`, the endpoint switched off by it; nothing reported. Answers the step's input.
 */
async function storedByAStoppedStep(endpointId: string, status: number, disabled?: string): Promise<RecordIn> {
  const eventId = newId('evt');
  const input = { type: 'opw.crashed', payload: { status } };
  const [delivery] = newDeliveries(eventId, [endpointId]);
  // An event and its delivery as ingest stores them; no workflow: this test plays its step.
  await insertEventWithDeliveries(stack.db, TENANT, { id: eventId, type: input.type, body: eventBody(eventId, input, new Date()), idempotencyKey: null }, [delivery!]);
  await stack.db('events').where({ id: eventId }).update({ dispatched_at: new Date() }); // not the outbox sweep's either
  const result: AttemptResult = {
    outcome: 'failed', startedAt: new Date().toISOString(), durationMs: 12, responseStatus: status,
    errorClass: 'http_4xx', errorMessage: `HTTP ${status}`, responseExcerpt: null, retryAfterMs: null,
  };
  const step: RecordIn = {
    ...deliveryInput({ tenantId: TENANT, eventId, eventType: input.type }, { deliveryId: delivery!.id, endpointId }),
    attempt: 1,
    result,
    deliveryStatus: 'failed',
  };
  const first = await storeAttempt(stack.db, {
    tenant_id: TENANT, delivery_id: step.deliveryId, endpoint_id: endpointId, event_id: eventId, attempt: 1, outcome: 'failed',
    started_at: new Date(result.startedAt), duration_ms: 12, response_status: status, error_class: 'http_4xx', error_message: `HTTP ${status}`,
    response_excerpt: null, delivery_status: 'failed',
  }, { reachedReceiver: true, keyIds: [] });
  expect(first.inserted).toBe(true);
  if (disabled) expect(await deactivateEndpoint(stack.db, TENANT, endpointId, disabled, attemptKey(step))).toBe(true);
  return step;
}

/** Runs the record step as Temporal runs a retried one: on the stack's task queue, with its client. */
async function runStepAgain(step: RecordIn): Promise<void> {
  const egress = egressPolicy(stack.config);
  const outbound = new OutboundDispatchers({ egress, connectTimeoutMs: 1000 });
  const deps = { db: stack.db, box: new SecretBox(parseMasterKey(TEST_MASTER_KEY)), log: createLogger('silent'), metrics: createMetrics(), outbound, egress, config: stack.config };
  try {
    await new MockActivityEnvironment({ taskQueue: stack.config.TEMPORAL_TASK_QUEUE }, { client: stack.temporal }).run(createActivities(deps).recordAttempt, step);
  } finally {
    await outbound.close();
  }
}

describe('when the step that stored a delivery\'s last attempt stopped before storing its operational events', () => {
  it('then the step run again, which finds the attempt stored, reports delivery.exhausted, and a third run sends nothing more', async () => {
    const down = await endpoint({ url: receiver.url + '/never-called', events: ['opw.crashed'], retry_config: { max_retries: 0 } });
    const step = await storedByAStoppedStep(down.id, 400);
    await runStepAgain(step);
    const exhausted = await eventually(async () => about('/ops', 'delivery_id', step.deliveryId).find((b) => b.type === 'delivery.exhausted'), 60_000, 'delivery.exhausted');
    expect(exhausted.data).toMatchObject({ endpoint_id: down.id, event_type: 'opw.crashed', attempts: 1, last_response_status: 400 });
    await runStepAgain(step);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(about('/ops', 'delivery_id', step.deliveryId).map((b) => b.type)).toEqual(['delivery.exhausted']);
    expect(received('/never-called')).toEqual([]);
  });

  it('then a first run that had switched the endpoint off has endpoint.disabled reported by the run again, once', async () => {
    const gone = await endpoint({ url: receiver.url + '/gone', events: ['opw.crashed'], retry_config: { max_retries: 0 } });
    const step = await storedByAStoppedStep(gone.id, 410, 'the receiver answered 410 Gone');
    await runStepAgain(step);
    const disabled = await eventually(async () => about('/ops', 'endpoint_id', gone.id).find((b) => b.type === 'endpoint.disabled'), 60_000, 'endpoint.disabled');
    expect(disabled.data).toMatchObject({ reason: 'the receiver answered 410 Gone' });
    await runStepAgain(step);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(about('/ops', 'endpoint_id', gone.id).map((b) => b.type).sort()).toEqual(['delivery.exhausted', 'endpoint.disabled']);
  });
});

describe('when a circuit opens but its endpoint.circuit_opened event cannot be stored', () => {
  it('then the circuit stays closed with the event, and the next failing attempt opens it and reports it once', async () => {
    const breaker = await endpoint({ url: receiver.url + '/breaker-lost', events: ['opw.circuit'], circuit_breaker: { failure_threshold: 1, cooldown_seconds: 60 } });
    /** A failed attempt as the delivery step stores it, and its report run as the step runs it. */
    const failOnce = async () => {
      const step = await storedByAStoppedStep(breaker.id, 503);
      const stored = await storeAttempt(stack.db, {
        tenant_id: TENANT, delivery_id: step.deliveryId, endpoint_id: breaker.id, event_id: step.eventId, attempt: 2, outcome: 'failed',
        started_at: new Date(), duration_ms: 12, response_status: 503, error_class: 'http_5xx', error_message: 'HTTP 503',
        response_excerpt: null, delivery_status: 'retrying',
      }, { reachedReceiver: true, keyIds: [] });
      const deps = { db: stack.db, log: createLogger('silent'), metrics: createMetrics(), config: stack.config };
      const result = { ...step.result, errorClass: 'http_5xx', responseStatus: 503 };
      return new MockActivityEnvironment({ taskQueue: stack.config.TEMPORAL_TASK_QUEUE }, { client: stack.temporal }).run(() => reportAttempt(deps, { ...step, attempt: 2 }, result, stored));
    };
    const circuitOf = async () => (await stack.db('endpoints').where({ id: breaker.id }).first()).circuit_state as string;
    // The database refuses this tenant's circuit events for a moment.
    await stack.db.raw(`create or replace function opw_refuse_circuit_events() returns trigger language plpgsql as $$
      begin
        if new.tenant_id = '${TENANT}' and new.type = 'endpoint.circuit_opened' then raise exception 'refused for the test'; end if;
        return new;
      end $$`);
    await stack.db.raw('create trigger opw_refuse_circuit_events before insert on events for each row execute function opw_refuse_circuit_events()');
    try {
      await expect(failOnce()).rejects.toThrow(/refused for the test/);
      // Opened with its event lost, it would never be reported: the next failure finds it open.
      expect(await circuitOf()).toBe('closed');
    } finally {
      await stack.db.raw('drop trigger opw_refuse_circuit_events on events');
      await stack.db.raw('drop function opw_refuse_circuit_events()');
    }
    await failOnce();
    expect(await circuitOf()).toBe('open');
    const opened = await eventually(async () => about('/ops', 'endpoint_id', breaker.id).find((b) => b.type === 'endpoint.circuit_opened'), 60_000, 'endpoint.circuit_opened');
    expect(opened.data).toMatchObject({ consecutive_failures: 4, failure_threshold: 1 });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(about('/ops', 'endpoint_id', breaker.id).filter((b) => b.type === 'endpoint.circuit_opened')).toHaveLength(1);
  });
});
