import { insertEventWithDeliveries } from '../../src/db/events-repo';
import { newId } from '../../src/ids';
import { eventBody, newDeliveries } from '../../src/services/ingest';
import type { Receiver } from '../helpers/receiver';
import { eventually, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

let stack: Stack;
let receiver: Receiver;
beforeAll(async () => ({ stack, receiver } = await startStackWithReceiver()));
afterAll(() => stopAll(stack, receiver));

/**
 * Stores an event with its deliveries exactly as ingest does, and starts nothing: the API stopped
 * between the insert and the workflow starts. `ageSeconds` backdates it past the outbox grace.
 */
async function storedNotStarted(type: string, endpointIds: string[], ageSeconds: number): Promise<string> {
  const id = newId('evt');
  const input = { type, payload: { outbox: true } };
  await insertEventWithDeliveries(stack.db, 'default', { id, type, body: eventBody(id, input, new Date()), idempotencyKey: null }, newDeliveries(id, endpointIds));
  await stack.db('events').where({ id }).update({ created_at: new Date(Date.now() - ageSeconds * 1000) });
  return id;
}

const receivedFor = (eventId: string) => receiver.requests.filter((r) => JSON.parse(r.body).id === eventId);
const runHousekeeping = () =>
  stack.temporal.workflow.execute('housekeepingWorkflow', { taskQueue: stack.config.TEMPORAL_TASK_QUEUE, workflowId: `housekeeping-test-${newId('evt')}` });

describe('when an event was stored but its deliveries were never started', () => {
  it('then the housekeeping sweep delivers it once after the grace, through the fan-out for many endpoints, and never twice', async () => {
    const endpoint = async (path: string, type: string) =>
      (await stack.call('POST', '/api/v1/endpoints', { url: `${receiver.url}${path}`, events: [type] })).body.data.id as string;
    const single = await endpoint('/single', 'outbox.single');
    const many: string[] = [];
    for (let n = 0; n < 10; n++) many.push(await endpoint(`/many/${n}`, 'outbox.many'));

    const lost = await storedNotStarted('outbox.single', [single], 120);
    const fanned = await storedNotStarted('outbox.many', many, 120);
    const fresh = await storedNotStarted('outbox.single', [single], 0);
    // Delivered normally, then made to look undispatched (the API stopped before marking it).
    const delivered = (await stack.call('POST', '/api/v1/events', { type: 'outbox.single', payload: { n: 1 } })).body.data.event_id as string;
    await eventually(async () => (receivedFor(delivered).length === 1 ? true : undefined), 30_000, 'the normal delivery');
    // The API marks it dispatched after answering: wait for the mark before undoing it.
    await eventually(async () => ((await stack.db('events').where({ id: delivered }).first()).dispatched_at ? true : undefined), 10_000, 'the dispatch mark');
    await stack.db('events').where({ id: delivered }).update({ dispatched_at: null, created_at: new Date(Date.now() - 120_000) });

    const result = await runHousekeeping();
    expect(result.outbox.dispatched).toBeGreaterThanOrEqual(3);

    await eventually(async () => (receivedFor(lost).length === 1 && receivedFor(fanned).length === 10 ? true : undefined), 30_000, 'the swept deliveries');
    expect(new Set(receivedFor(fanned).map((r) => r.path)).size).toBe(10);
    const dispatched = await stack.db('events').whereIn('id', [lost, fanned, delivered, fresh]).select('id', 'dispatched_at');
    const at = Object.fromEntries(dispatched.map((e) => [e.id, e.dispatched_at]));
    expect([at[lost], at[fanned], at[delivered]].every((d) => d instanceof Date)).toBe(true);
    expect(at[fresh]).toBeNull(); // still inside the grace: the API may be starting it right now

    await runHousekeeping(); // a second sweep finds nothing of these to start
    await new Promise((r) => setTimeout(r, 1500));
    expect([receivedFor(lost).length, receivedFor(fanned).length, receivedFor(delivered).length, receivedFor(fresh).length]).toEqual([1, 10, 1, 0]);
  });
});

describe('when many events are accepted at once', () => {
  it('then their outbox marks share a few statements, and every event is marked', async () => {
    const endpoint = await stack.call('POST', '/api/v1/endpoints', { url: `${receiver.url}/batch`, events: ['outbox.batch'] });
    expect(endpoint.status).toBe(201);
    let marks = 0;
    const count = (query: { sql: string }) => {
      if (/^update "events" set "dispatched_at"/.test(query.sql)) marks++;
    };
    stack.db.on('query', count);
    try {
      const accepted = await Promise.all(Array.from({ length: 20 }, (_, n) => stack.call('POST', '/api/v1/events', { type: 'outbox.batch', payload: { n } })));
      const ids = accepted.map((res) => res.body.data.event_id as string);
      await eventually(async () => ((await stack.db('events').whereIn('id', ids).whereNull('dispatched_at')).length === 0 ? true : undefined), 10_000, 'every mark');
      // One statement per 100 ms of marks, not one per event.
      expect(marks).toBeGreaterThan(0);
      expect(marks).toBeLessThan(10);
    } finally {
      stack.db.removeListener('query', count);
    }
  });
});
