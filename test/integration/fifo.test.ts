import type { ReceivedRequest } from '../helpers/receiver';
import { Receiver } from '../helpers/receiver';
import { eventually, startStack, type Stack } from '../helpers/stack';
import { exited, spawnWorker } from '../helpers/worker-process';

/** FIFO endpoints: one delivery at a time, in ingest order, whatever the receiver does. */
let stack: Stack;
let receiver: Receiver;
beforeAll(async () => {
  stack = await startStack();
  receiver = await Receiver.start();
});
afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
});

let n = 0;
async function fifoEndpoint(path: string, extra: Record<string, unknown> = {}) {
  const type = `fifo.e${++n}`;
  const res = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: [type], ordering: 'fifo', ...extra });
  expect(res.status).toBe(201);
  return { endpoint: res.body.data, type };
}
const send = async (type: string, i: number) => {
  const res = await stack.call('POST', '/api/v1/events', { type, payload: { i } });
  expect(res.status).toBe(202);
  return res.body.data.deliveries[0].id as string;
};
const delivery = async (id: string) => (await stack.call('GET', `/api/v1/deliveries/${id}`)).body.data;
const inState = (id: string, status: string, timeoutMs = 60_000) =>
  eventually(async () => {
    const d = await delivery(id);
    return d?.status === status ? d : undefined;
  }, timeoutMs, `delivery ${id} to be ${status}`);
const at = (path: string) => receiver.requests.filter((r) => r.path === path);
const payloadOf = (r: ReceivedRequest) => (JSON.parse(r.body) as { data: { i: number } }).data.i;

/** A small seeded random source, so a failing run can be read again. */
function seeded(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe('when 200 events go to a FIFO endpoint whose receiver fails at random', () => {
  it('then they arrive strictly in order: no event is sent before the one before it succeeded', async () => {
    const { endpoint, type } = await fifoEndpoint('/fifo-random', { retry_config: { schedule: Array(20).fill(10), jitter: 0 } });
    const random = seeded(42);
    receiver.respond((req) => (req.path === '/fifo-random' && random() < 0.3 ? { status: 503 } : { status: 200 }));
    const ids: string[] = [];
    for (let i = 1; i <= 200; i++) ids.push(await send(type, i));
    await inState(ids.at(-1)!, 'succeeded', 170_000);

    const requests = at('/fifo-random');
    // Every request, retries included, carries its line number; they never go back.
    const sequences = requests.map((r) => Number(r.headers['x-webhook-sequence']));
    for (let i = 1; i < sequences.length; i++) expect(sequences[i]).toBeGreaterThanOrEqual(sequences[i - 1]!);
    expect(requests.map(payloadOf)).toEqual(sequences.map((s) => s - sequences[0]! + 1));
    expect(new Set(sequences).size).toBe(200);
    const last = await delivery(ids.at(-1)!);
    expect(last.sequence).toBe(200);
    const shown = (await stack.call('GET', `/api/v1/endpoints/${endpoint.id}`)).body.data;
    expect(shown).toMatchObject({ ordering: 'fifo', on_exhausted: 'skip', fifo: { last_sequence: 200, blocked_on: null } });
    receiver.respond(() => ({ status: 200 }));
  }, 180_000);
});

describe('when the head of a blocking FIFO line does not deliver', () => {
  it('then the line waits on it; redelivered, it goes first and the rest follow in order; skipped, the line moves on', async () => {
    const { endpoint, type } = await fifoEndpoint('/fifo-block', { on_exhausted: 'block', retry_config: { max_retries: 0 } });
    let refuse = true;
    receiver.respond((req) => (req.path === '/fifo-block' && refuse && payloadOf(req) === 1 ? { status: 400 } : { status: 200 }));
    const [first, second] = [await send(type, 1), await send(type, 2)];
    await inState(first, 'failed');
    const blocked = await eventually(async () => {
      const e = (await stack.call('GET', `/api/v1/endpoints/${endpoint.id}`)).body.data;
      return e.fifo?.blocked_on === first ? e : undefined;
    }, 30_000, 'the line to block');
    expect(blocked.fifo.blocked_on).toBe(first);
    await new Promise((r) => setTimeout(r, 500));
    expect(at('/fifo-block').map(payloadOf)).toEqual([1]);

    refuse = false;
    const again = await stack.call('POST', `/api/v1/deliveries/${first}/redeliver`);
    expect(again.status).toBe(202);
    expect(again.body.data).toMatchObject({ id: first, in_line: true, first_attempt: 2 });
    await inState(second, 'succeeded');
    expect(at('/fifo-block').map(payloadOf)).toEqual([1, 1, 2]);
    expect((await delivery(first)).status).toBe('succeeded');

    // Blocked again, then skipped through the API: the head stays failed, the next one goes.
    refuse = true;
    const [third, fourth] = [await send(type, 1), await send(type, 4)];
    await inState(third, 'failed');
    await eventually(async () => ((await stack.call('GET', `/api/v1/endpoints/${endpoint.id}`)).body.data.fifo?.blocked_on === third ? true : undefined));
    const skipped = await stack.call('POST', `/api/v1/endpoints/${endpoint.id}/ordering/skip`);
    expect(skipped.status).toBe(202);
    expect(skipped.body.data).toEqual({ endpoint_id: endpoint.id, skipped: third });
    await inState(fourth, 'succeeded');
    expect((await delivery(third)).status).toBe('failed');
    expect((await stack.call('POST', `/api/v1/endpoints/${endpoint.id}/ordering/skip`)).body.err).toBe('not_blocked');
  }, 120_000);
});

describe('when the head of a skipping FIFO line ends in the dead letter', () => {
  it('then the next delivery goes', async () => {
    const { type } = await fifoEndpoint('/fifo-skip', { retry_config: { max_retries: 0 } });
    receiver.respond((req) => (req.path === '/fifo-skip' && payloadOf(req) === 1 ? { status: 400 } : { status: 200 }));
    const [first, second] = [await send(type, 1), await send(type, 2)];
    await inState(second, 'succeeded');
    expect((await delivery(first)).status).toBe('failed');
    expect(at('/fifo-skip').map(payloadOf)).toEqual([1, 2]);
  });
});

describe('when a FIFO endpoint is switched off with deliveries in its line', () => {
  it('then the line pauses (its head waiting in its place), and switched on again it goes on in order', async () => {
    const { endpoint, type } = await fifoEndpoint('/fifo-pause', { retry_config: { schedule: [800, 800, 800], jitter: 0 } });
    let down = true;
    receiver.respond((req) => (req.path === '/fifo-pause' && down ? { status: 503 } : { status: 200 }));
    const ids = [await send(type, 1), await send(type, 2), await send(type, 3)];
    await inState(ids[0]!, 'retrying');
    await stack.call('PATCH', `/api/v1/endpoints/${endpoint.id}`, { is_active: false });
    // The head's next attempt finds the endpoint off: it stops, and the line waits behind it.
    await inState(ids[0]!, 'failed');
    await new Promise((r) => setTimeout(r, 1500));
    expect(at('/fifo-pause').map(payloadOf).every((i) => i === 1)).toBe(true);
    const queued = await stack.call('GET', `/api/v1/deliveries/${ids[1]}`);
    expect([queued.status, queued.body]).toMatchObject([200, { ok: true, data: { status: 'scheduled', sequence: 2 } }]);

    down = false;
    await stack.call('PATCH', `/api/v1/endpoints/${endpoint.id}`, { is_active: true });
    await inState(ids[2]!, 'succeeded');
    expect((await delivery(ids[0]!)).status).toBe('succeeded');
    const order = at('/fifo-pause').map(payloadOf);
    expect(order.filter((i) => i !== 1)).toEqual([2, 3]);
    expect(order.indexOf(2)).toBeGreaterThan(order.lastIndexOf(1));
  }, 120_000);
});

describe('when a FIFO endpoint is deleted with deliveries in its line', () => {
  it('then each ends cancelled without being sent', async () => {
    const { endpoint, type } = await fifoEndpoint('/fifo-gone', { retry_config: { schedule: [60_000], jitter: 0 } });
    receiver.respond((req) => (req.path === '/fifo-gone' ? { status: 503 } : { status: 200 }));
    const first = await send(type, 1);
    const queued = [await send(type, 2), await send(type, 3)];
    await inState(first, 'retrying');
    await stack.call('DELETE', `/api/v1/endpoints/${endpoint.id}`);
    await stack.call('POST', `/api/v1/deliveries/${first}/cancel`, { reason: 'endpoint deleted' });
    for (const id of queued) await inState(id, 'cancelled');
    expect(at('/fifo-gone').map(payloadOf)).toEqual([1]);
  }, 120_000);
});

describe('when ordering is switched off', () => {
  it('then new deliveries go at once, without a sequence', async () => {
    const { endpoint, type } = await fifoEndpoint('/fifo-off');
    receiver.respond(() => ({ status: 200 }));
    const ordered = await send(type, 1);
    await inState(ordered, 'succeeded');
    await stack.call('PATCH', `/api/v1/endpoints/${endpoint.id}`, { ordering: 'unordered' });
    const unordered = await send(type, 2);
    const done = await inState(unordered, 'succeeded');
    expect(done.sequence).toBeNull();
    expect(at('/fifo-off').map((r) => r.headers['x-webhook-sequence'])).toEqual(['1', undefined]);
  });
});

describe('when the worker is killed in the middle of a FIFO line', () => {
  it('then a new worker carries on: nothing lost, nothing out of order', async () => {
    const worker = await startStack({ worker: false });
    const children: Array<ReturnType<typeof spawnWorker>> = [];
    try {
      const type = `fifo.crash${++n}`;
      const created = await worker.call('POST', '/api/v1/endpoints', { url: receiver.url + '/fifo-crash', events: [type], ordering: 'fifo', retry_config: { schedule: [50, 50, 50], jitter: 0, timeout_ms: 2000 } });
      expect(created.status).toBe(201);
      receiver.respond((req) => (req.path === '/fifo-crash' && payloadOf(req) === 5 && at('/fifo-crash').filter((r) => payloadOf(r) === 5).length === 1 ? 'hang' : { status: 200 }));
      const first = spawnWorker(worker.config);
      children.push(first);
      const ids: string[] = [];
      for (let i = 1; i <= 10; i++) ids.push((await worker.call('POST', '/api/v1/events', { type, payload: { i } })).body.data.deliveries[0].id);
      // The fifth delivery's request hangs: kill the worker while it waits for it.
      await eventually(async () => (at('/fifo-crash').some((r) => payloadOf(r) === 5) ? true : undefined), 60_000, 'the fifth request');
      first.child.kill('SIGKILL');
      await exited(first.child);
      const second = spawnWorker(worker.config);
      children.push(second);
      await eventually(async () => {
        const d = (await worker.call('GET', `/api/v1/deliveries/${ids.at(-1)}`)).body.data;
        return d.status === 'succeeded' ? d : undefined;
      }, 90_000, `the line to finish (worker output: ${second.output().slice(-300)})`);
      const order = at('/fifo-crash').map(payloadOf);
      expect([...new Set(order)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(order.filter((i) => i === 5).length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < order.length; i++) expect(order[i]).toBeGreaterThanOrEqual(order[i - 1]!);
    } finally {
      for (const { child } of children) child.kill('SIGKILL');
      await worker.stop();
    }
  }, 150_000);
});
