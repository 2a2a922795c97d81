import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPLAY_LIMIT } from '../../src/api/event-stream';
import { loadConfig } from '../../src/config';
import { tenantAttemptsAfter, type StreamedAttemptRow } from '../../src/db/attempts-repo';
import { insertEndpoint } from '../../src/db/endpoints-repo';
import { insertEventWithDeliveries } from '../../src/db/events-repo';
import { newDeliveries } from '../../src/services/ingest';
import { migrate, openDatabase } from '../../src/db/knex';
import { newId } from '../../src/ids';
import { createLogger } from '../../src/logger';
import { createApiKey } from '../../src/services/api-keys';
import { AttemptHub } from '../../src/services/attempt-stream';
import type { Receiver } from '../helpers/receiver';
import { eventually, startStackWithReceiver, stopAll, TEST_TOKEN, type Stack } from '../helpers/stack';

let stack: Stack;
let receiver: Receiver;
const controllers: AbortController[] = [];

beforeAll(async () => {
  ({ stack, receiver } = await startStackWithReceiver());
  receiver.respond((req) => (req.path === '/stream-bad' ? { status: 400, body: 'excerpt-must-not-stream' } : { status: 200, body: 'excerpt-ok' }));
  await stack.db('tenants').insert({ id: 'acme', name: 'Acme' }).onConflict('id').ignore();
});
afterAll(async () => {
  controllers.forEach((c) => c.abort());
  await stopAll(stack, receiver);
});

interface SseFrame {
  event?: string;
  id?: string;
  data?: string;
  comment?: string;
  retry?: string;
}

/** One SSE frame (the lines between two blank lines), as the EventSource spec reads it. */
function parseFrame(block: string): SseFrame {
  const frame: SseFrame = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) frame.comment = line.slice(1).trim();
    const [, field, value] = /^(\w+): ?(.*)$/.exec(line) ?? [];
    if (field === 'data') frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
    else if (field === 'event' || field === 'id' || field === 'retry') frame[field] = value;
  }
  return frame;
}

/** Opens the stream with Node's fetch and collects its frames until the test aborts it. */
async function openStream(query = '', init: { token?: string; lastEventId?: string } = {}) {
  const controller = new AbortController();
  controllers.push(controller);
  const headers: Record<string, string> = { authorization: `Bearer ${init.token ?? TEST_TOKEN}` };
  if (init.lastEventId !== undefined) headers['last-event-id'] = init.lastEventId;
  const res = await fetch(`${stack.url}/api/v1/events/stream${query}`, { headers, signal: controller.signal });
  const frames: SseFrame[] = [];
  let text = '';
  const pump = async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body!) {
      const piece = decoder.decode(chunk, { stream: true });
      text += piece;
      buffer += piece;
      for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
        frames.push(parseFrame(buffer.slice(0, cut)));
        buffer = buffer.slice(cut + 2);
      }
    }
  };
  pump().catch(() => undefined); // ends with an AbortError when the test closes the stream
  const attempts = () => frames.filter((f) => f.event === 'attempt').map((f) => ({ id: f.id!, data: JSON.parse(f.data!) as Record<string, unknown> }));
  return { res, frames, attempts, text: () => text, close: () => controller.abort() };
}

type OpenStream = Awaited<ReturnType<typeof openStream>>;
const forDelivery = (stream: OpenStream, deliveryId: string) => stream.attempts().filter((a) => a.data.delivery_id === deliveryId);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('when deliveries are attempted while streams are open', () => {
  const streams: Record<string, OpenStream> = {};
  let ok: { endpoint: string; event: string; delivery: string };
  let bad: { endpoint: string; event: string; delivery: string };

  async function send(type: string, pathName: string, retryConfig: Record<string, unknown>) {
    const endpoint = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + pathName, events: [type], retry_config: retryConfig });
    expect(endpoint.status).toBe(201);
    return { endpoint: endpoint.body.data.id as string };
  }

  /** The lower of the two attempts' ids: the workers may record them in either order. */
  const firstId = () => [ok.delivery, bad.delivery].map((d) => BigInt(forDelivery(streams.all!, d)[0]!.id)).reduce((a, b) => (a < b ? a : b)).toString();

  beforeAll(async () => {
    const okEndpoint = await send('stream.ok', '/stream-ok', { max_retries: 0 });
    const badEndpoint = await send('stream.bad', '/stream-bad', { max_retries: 0 });
    const { key: acmeKey } = await createApiKey(stack.db, null, { tenantId: 'acme', name: 'stream', scopes: ['deliveries:read'], expiresAt: null });
    streams.all = await openStream();
    streams.byEndpoint = await openStream(`?endpoint_id=${okEndpoint.endpoint}`);
    streams.failed = await openStream('?status=failed');
    streams.acme = await openStream('', { token: acmeKey });
    for (const [type, target] of [['stream.ok', okEndpoint], ['stream.bad', badEndpoint]] as const) {
      const res = await stack.call('POST', '/api/v1/events', { type, payload: { n: 1 } });
      expect(res.status).toBe(202);
      const ids = { endpoint: target.endpoint, event: res.body.data.event_id as string, delivery: res.body.data.deliveries[0].id as string };
      if (type === 'stream.ok') ok = ids;
      else bad = ids;
    }
    await eventually(async () => (forDelivery(streams.all!, ok.delivery).length === 1 && forDelivery(streams.all!, bad.delivery).length === 1 ? true : undefined), 30_000, 'both attempts on the stream');
    // A few more poller ticks, so a row that should not reach a filtered stream has had its chance.
    await sleep(1500);
  });

  it('then the stream answers with SSE headers at once', () => {
    expect(streams.all!.res.status).toBe(200);
    expect(streams.all!.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(streams.all!.res.headers.get('cache-control')).toBe('no-cache');
    expect(streams.all!.res.headers.get('x-accel-buffering')).toBe('no');
  });

  it('then each attempt arrives once as an attempt event with its row id and recorded fields', async () => {
    const [okEvent] = forDelivery(streams.all!, ok.delivery);
    const [badEvent] = forDelivery(streams.all!, bad.delivery);
    const rows = await stack.db('attempts').whereIn('delivery_id', [ok.delivery, bad.delivery]).select('id', 'delivery_id');
    const idOf = (delivery: string) => String(rows.find((r) => r.delivery_id === delivery)!.id);
    expect(okEvent!.id).toBe(idOf(ok.delivery));
    expect(badEvent!.id).toBe(idOf(bad.delivery));
    expect(Object.keys(okEvent!.data).sort()).toEqual(
      ['attempt', 'delivery_id', 'delivery_status', 'duration_ms', 'endpoint_id', 'error_class', 'event_id', 'outcome', 'response_status', 'started_at'],
    );
    expect(okEvent!.data).toMatchObject({ delivery_id: ok.delivery, endpoint_id: ok.endpoint, event_id: ok.event, attempt: 1, outcome: 'succeeded', response_status: 200, error_class: null, delivery_status: 'succeeded' });
    expect(badEvent!.data).toMatchObject({ delivery_id: bad.delivery, endpoint_id: bad.endpoint, event_id: bad.event, attempt: 1, outcome: 'failed', response_status: 400, error_class: 'http_4xx', delivery_status: 'failed' });
    expect(typeof okEvent!.data.duration_ms).toBe('number');
    expect(new Date(okEvent!.data.started_at as string).toISOString()).toBe(okEvent!.data.started_at);
  });

  it('then no response excerpt or error message reaches the stream', () => {
    expect(streams.all!.text()).not.toContain('excerpt');
    expect(streams.all!.text()).not.toContain('error_message');
  });

  it('then an endpoint_id filter passes only that endpoint', () => {
    expect(forDelivery(streams.byEndpoint!, ok.delivery)).toHaveLength(1);
    expect(streams.byEndpoint!.attempts().every((a) => a.data.endpoint_id === ok.endpoint)).toBe(true);
  });

  it('then a status filter passes only attempts that left the delivery in that status', () => {
    expect(forDelivery(streams.failed!, bad.delivery)).toHaveLength(1);
    expect(streams.failed!.attempts().every((a) => a.data.delivery_status === 'failed')).toBe(true);
  });

  it("then another tenant's stream sees none of them", () => {
    expect(streams.acme!.res.status).toBe(200);
    expect(streams.acme!.attempts()).toEqual([]);
  });

  it('then Last-Event-ID replays exactly the rows after it, oldest first', async () => {
    const after = firstId();
    const expected = (await stack.db('attempts').where({ tenant_id: 'default' }).andWhere('id', '>', after).orderBy('id').select('id')).map((r) => String(r.id));
    expect(expected.length).toBeGreaterThan(0);
    const resumed = await openStream('', { lastEventId: after });
    await eventually(async () => (resumed.attempts().length >= expected.length ? true : undefined), 10_000, 'the replay');
    expect(resumed.attempts().map((a) => a.id).slice(0, expected.length)).toEqual(expected);
    resumed.close();
  });

  it('then since_id does the same, with the filters applied', async () => {
    const since = String(BigInt(firstId()) - 1n);
    const resumed = await openStream(`?since_id=${since}&endpoint_id=${bad.endpoint}`);
    await eventually(async () => (resumed.attempts().length > 0 ? true : undefined), 10_000, 'the replay');
    expect(resumed.attempts().map((a) => a.data.delivery_id)).toEqual([bad.delivery]);
    resumed.close();
  });

  it('then a stream opened afterwards without a resume point replays nothing', async () => {
    const fresh = await openStream();
    await sleep(1500);
    expect(fresh.res.status).toBe(200);
    expect(fresh.frames.find((f) => f.retry !== undefined)).toBeTruthy();
    expect(fresh.attempts()).toEqual([]);
    fresh.close();
  });

  afterAll(() => Object.values(streams).forEach((s) => s.close()));
});

describe('when more attempts follow the resume point than one connection replays', () => {
  it('then the oldest 1000 come, then an overflow event, and resuming from there gives the rest', async () => {
    const endpoint = await insertEndpoint(stack.db, 'acme', { id: newId('ep'), url: 'https://example.com/backlog', description: null, events: ['backlog.x'], retry_config: null });
    const eventId = newId('evt');
    const stored = await insertEventWithDeliveries(stack.db, 'acme', { id: eventId, type: 'backlog.x', body: '{}', idempotencyKey: null }, newDeliveries(eventId, [endpoint.id]));
    const base = { tenant_id: 'acme', delivery_id: stored.deliveries[0]!.id, endpoint_id: endpoint.id, event_id: stored.event.id, outcome: 'retryable', started_at: new Date(), duration_ms: 1, delivery_status: 'retrying' };
    const ids = (await stack.db('attempts').insert(Array.from({ length: REPLAY_LIMIT + 5 }, (_, i) => ({ ...base, attempt: i + 1 }))).returning('id')).map((r) => String(r.id));
    const { key } = await createApiKey(stack.db, null, { tenantId: 'acme', name: 'backlog', scopes: ['deliveries:read'], expiresAt: null });
    const since = String(BigInt(ids[0]!) - 1n);

    const first = await openStream(`?since_id=${since}&endpoint_id=${endpoint.id}`, { token: key });
    await eventually(async () => first.frames.find((f) => f.event === 'overflow'), 10_000, 'the overflow event');
    expect(first.attempts().map((a) => a.id)).toEqual(ids.slice(0, REPLAY_LIMIT));
    const overflow = first.frames.find((f) => f.event === 'overflow')!;
    expect(overflow.id).toBeUndefined(); // the client's last event id stays the last attempt
    expect(JSON.parse(overflow.data!)).toEqual({ reason: 'backlog', last_event_id: ids[REPLAY_LIMIT - 1] });

    const rest = await openStream(`?since_id=${since}&endpoint_id=${endpoint.id}`, { token: key, lastEventId: ids[REPLAY_LIMIT - 1] });
    await eventually(async () => (rest.attempts().length === 5 ? true : undefined), 10_000, 'the rest of the backlog');
    expect(rest.attempts().map((a) => a.id)).toEqual(ids.slice(REPLAY_LIMIT));
    expect(rest.frames.some((f) => f.event === 'overflow')).toBe(false);
    rest.close();
  });
});

describe('when the stream is asked for badly', () => {
  it('then without a token it answers 401', async () => {
    const res = await stack.call('GET', '/api/v1/events/stream', undefined, { token: null });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ ok: false, err: 'unauthorized' });
  });

  it('then a bad filter answers 422 naming it, not an event-id error', async () => {
    const res = await stack.call('GET', '/api/v1/events/stream?status=bogus&endpoint_id=nope');
    expect(res.status).toBe(422);
    expect(res.body.details.map((d: { path: string }) => d.path).sort()).toEqual(['query.endpoint_id', 'query.status']);
  });

  it('then a Last-Event-ID that is not an attempt id answers 422', async () => {
    const res = await stack.call('GET', '/api/v1/events/stream', undefined, { headers: { 'last-event-id': 'abc' } });
    expect(res.status).toBe(422);
    expect(res.body.details).toEqual([{ path: 'headers.last-event-id', message: expect.any(String) }]);
  });
});

describe('when the database is the embedded Postgres (PGlite)', () => {
  it('then the shared poller hands new rows over in id order, waiting a moment at a missing id', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pglite-stream-'));
    const db = openDatabase(loadConfig({ NODE_ENV: 'test', PGLITE_DIR: dir, LOG_LEVEL: 'silent' }), createLogger('silent'));
    const hub = new AttemptHub(db, createLogger('silent'), { intervalMs: 20, gapWaitMs: 1000 });
    try {
      await migrate(db, 'default');
      await db('tenants').insert({ id: 'other', name: 'Other' });
      const endpoint = await insertEndpoint(db, 'default', { id: newId('ep'), url: 'https://example.com/x', description: null, events: ['a.b'], retry_config: null });
      const eventId = newId('evt');
      const stored = await insertEventWithDeliveries(db, 'default', { id: eventId, type: 'a.b', body: '{}', idempotencyKey: null }, newDeliveries(eventId, [endpoint.id]));
      const base = { tenant_id: 'default', delivery_id: stored.deliveries[0]!.id, endpoint_id: endpoint.id, event_id: stored.event.id, outcome: 'retryable', started_at: new Date(), duration_ms: 1, delivery_status: 'retrying', response_excerpt: 'secret' };
      await db('attempts').insert({ ...base, id: 1, attempt: 1 }); // before anyone listens: never streamed
      const seen: StreamedAttemptRow[] = [];
      const others: StreamedAttemptRow[] = [];
      const unsubscribe = await hub.subscribe('default', { filter: { eventType: 'a.b' }, push: (row) => seen.push(row) });
      const unsubscribeOther = await hub.subscribe('other', { filter: {}, push: (row) => others.push(row) });
      expect(hub.subscribers).toBe(2);

      await db('attempts').insert({ ...base, id: 3, attempt: 3 });
      await sleep(300);
      expect(seen).toEqual([]); // 2 is missing: 3 waits
      await db('attempts').insert({ ...base, id: 2, attempt: 2 });
      await eventually(async () => (seen.length === 2 ? true : undefined), 5_000, 'rows 2 and 3');
      expect(seen.map((r) => [r.id, r.event_type])).toEqual([['2', 'a.b'], ['3', 'a.b']]);
      expect(seen[0]).not.toHaveProperty('response_excerpt');

      await db('attempts').insert({ ...base, id: 5, attempt: 5 }); // 4 never comes
      await eventually(async () => (seen.length === 3 ? true : undefined), 5_000, 'row 5 after the wait');
      expect(seen[2]!.id).toBe('5');
      expect(others).toEqual([]);

      // The replay query too: tenant, filters, id order.
      expect((await tenantAttemptsAfter(db, 'default', 1n, { endpointId: endpoint.id, deliveryStatus: 'retrying' }, 10)).map((r) => r.id)).toEqual(['2', '3', '5']);
      expect(await tenantAttemptsAfter(db, 'other', 0n, {}, 10)).toEqual([]);

      unsubscribe();
      unsubscribeOther();
      expect(hub.subscribers).toBe(0);
    } finally {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
    // Migrating an embedded (WebAssembly) Postgres takes most of this, and far longer on a busy machine.
  }, 240_000);
});
