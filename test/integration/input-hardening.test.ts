import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { signInbound } from '../../src/inbound/sender';
import { startStack, TEST_TOKEN, type Stack } from '../helpers/stack';

let stack: Stack;
let endpointId: string;
let source: { id: string; secret: string };

beforeAll(async () => {
  // A tenant of its own: its endpoint for every event (`*`) must not receive other suites' events.
  stack = await startStack({ worker: false, env: { DEFAULT_TENANT_ID: 'hardening' } });
  endpointId = (await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/hook', events: ['*'] })).body.data.id;
  source = (await stack.call('POST', '/api/v1/sources', { name: 'hardening', allowed_handlers: ['echo', 'relay'], default_handler: 'echo' })).body.data;
});
afterAll(async () => stack?.stop());

function expectRefused(res: { status: number; body: any }, status: number, err?: string) {
  expect(res.status).toBe(status);
  expect(res.body).toEqual(expect.objectContaining({ ok: false, err: err ?? expect.any(String), msg: expect.any(String) }));
}
/** Writes `text` on a socket to the API and answers all it gets back. */
function rawHttp(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(stack.url).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.end(text, 'latin1');
  });
}

const paths = (res: { body: any }) => (res.body.details ?? []).map((d: { path: string }) => d.path);

describe('when a string field or query parameter holds U+0000', () => {
  it.each([
    ['an endpoint name', 'POST', '/api/v1/endpoints', { url: 'https://example.com/x', events: ['a.b'], name: 'bad\u0000name' }, 'body.name'],
    ['an event payload value', 'POST', '/api/v1/events', { type: 'a.b', payload: { note: 'x\u0000y' } }, 'body.payload.note'],
    ['an event payload key', 'POST', '/api/v1/events', { type: 'a.b', payload: { 'k\u0000': 1 } }, 'body.payload'],
    ['an example payload', 'POST', '/api/v1/event-types', { name: 'nul.example', payload_schema: {}, example_payload: { a: '\u0000' } }, 'body.example_payload.a'],
    ['a filter value', 'POST', '/api/v1/endpoints', { url: 'https://example.com/x', events: ['a.b'], filters: { a: 'x\u0000' } }, 'body.filters.a'],
  ])('then %s gets 422 naming it, and nothing is written', async (_name, method, path, body, field) => {
    const before = await stack.db('audit_log').count({ n: '*' }).first();
    const res = await stack.call(method, path, body);
    expectRefused(res, 422, 'validation_failed');
    expect(paths(res)).toContain(field);
    expect(await stack.db('audit_log').count({ n: '*' }).first()).toEqual(before);
  });

  it.each(['/api/v1/audit?actor=%00', '/api/v1/audit?resource_id=a%00b', '/api/v1/telemetry?trace_id=%00', '/api/v1/event-types?category=x%00'])(
    'then GET %s gets 422 naming the parameter',
    async (path) => {
      const res = await stack.call('GET', path);
      expectRefused(res, 422, 'validation_failed');
      expect(paths(res)[0]).toMatch(/^query\./);
    },
  );

  it('then a lone surrogate (not Unicode text) gets 422 too', async () => {
    expectRefused(await stack.call('POST', '/api/v1/endpoints', undefined, { raw: '{"url":"https://example.com/x","events":["a.b"],"name":"\\ud800"}' }), 422);
  });

  it('then bytes that are not UTF-8 get 400 instead of being replaced silently', async () => {
    const res = await fetch(`${stack.url}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-token-0123456789', 'content-type': 'application/json' },
      body: Buffer.concat([Buffer.from('{"type":"a.b","payload":{"n":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')]),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ ok: false, err: 'invalid_json' });
  });
});

describe('when JSON is nested deeper than the edge allows', () => {
  it('then the answer is 422 naming the depth limit, at once, for a body that serializing would choke on', async () => {
    const raw = `{"type":"a.b","payload":{"d":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`;
    const res = await stack.call('POST', '/api/v1/events', undefined, { raw });
    expectRefused(res, 422, 'validation_failed');
    expect(res.body.msg).toMatch(/deeper than 64/);
  });

  it('then 64 levels are still accepted', async () => {
    let payload: unknown = 1;
    for (let i = 0; i < 62; i++) payload = { n: payload };
    expect((await stack.call('POST', '/api/v1/events', { type: 'deep.ok', payload })).status).toBe(202);
  });
});

describe('when /webhook/in gets a compressed body', () => {
  const body = JSON.stringify({ n: 1 });
  it.each([
    ['gzip', gzipSync(body)],
    ['compress', Buffer.from(body)],
    ['br', Buffer.from(body)],
  ])('then Content-Encoding %s gets 415', async (encoding, bytes) => {
    const res = await fetch(`${stack.url}/webhook/in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': encoding, 'x-source-id': source.id, ...signInbound({ secret: source.secret, body: bytes }) },
      body: bytes,
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ ok: false, err: 'unsupported_media_type', trace_id: expect.any(String) });
  });
});

describe('when an endpoint URL is malformed or carries credentials', () => {
  const create = (url: string) => stack.call('POST', '/api/v1/endpoints', { url, events: ['a.b'] });
  it.each([
    ['a CR/LF', 'https://example.com/a\r\nX-Injected: 1'],
    ['a tab', 'https://exam\tple.com/a'],
    ['a space', 'https://example.com/a b'],
    ['port 0', 'https://example.com:0/hook'],
  ])('then a URL with %s gets 422 on url', async (_name, url) => {
    const res = await create(url);
    expectRefused(res, 422, 'validation_failed');
    expect(paths(res)).toContain('body.url');
  });

  it('then credentials in the URL get 422 pointing to a sensitive Authorization header', async () => {
    for (const url of ['https://user:pass@example.com/hook', 'https://token@example.com/hook']) {
      const res = await create(url);
      expectRefused(res, 422, 'validation_failed');
      expect(res.body.details.find((d: { path: string }) => d.path === 'body.url').message).toMatch(/Authorization.*sensitive/);
    }
    const patched = await stack.call('PATCH', `/api/v1/endpoints/${endpointId}`, { url: 'https://a:b@example.com/' });
    expectRefused(patched, 422, 'validation_failed');
  });
});

describe('when prototype keys are sent', () => {
  it.each([
    ['__proto__ in headers', '/api/v1/endpoints', '{"url":"https://example.com/x","events":["a.b"],"headers":{"__proto__":"x"}}'],
    ['constructor in headers', '/api/v1/endpoints', '{"url":"https://example.com/x","events":["a.b"],"headers":{"constructor":"x"}}'],
    ['__proto__ in a payload', '/api/v1/events', '{"type":"a.b","payload":{"__proto__":{"admin":true},"n":1}}'],
    ['constructor deep in a payload', '/api/v1/events', '{"type":"a.b","payload":{"a":[{"constructor":{"prototype":1}}]}}'],
  ])('then %s gets 422 instead of being dropped', async (_name, path, raw) => {
    const before = await stack.db('events').count({ n: '*' }).first();
    expectRefused(await stack.call('POST', path, undefined, { raw }), 422, 'validation_failed');
    expect(await stack.db('events').count({ n: '*' }).first()).toEqual(before);
  });
});

describe('when a delivery-log cursor was not made by the API', () => {
  it.each(['AAAA', 'x'.repeat(200), 'eyJDbG9zZVRpbWUiOiJ4In0'])('then cursor %s gets 400 at once', async (cursor) => {
    const started = performance.now();
    const res = await stack.call('GET', `/api/v1/endpoints/${endpointId}/deliveries?cursor=${cursor}`);
    expectRefused(res, 400, 'invalid_cursor');
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('when headers would break every send', () => {
  const create = (headers: Record<string, unknown>) => stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/x', events: ['a.b'], headers });
  it.each(['keep-alive', 'Upgrade', 'expect', 'TE', 'trailer', 'Proxy-Authorization', 'proxy-connection', 'transfer-encoding', 'Connection', 'Host'])(
    'then a custom %s header gets 422',
    async (name) => {
      const res = await create({ [name]: 'x' });
      expectRefused(res, 422, 'validation_failed');
      expect(paths(res).some((p: string) => p.startsWith('body.headers'))).toBe(true);
    },
  );

  it('then two header names that differ only in case get 422', async () => {
    expectRefused(await create({ 'X-Team': 'a', 'x-team': 'b' }), 422, 'validation_failed');
  });

  it('then an Idempotency-Key with control characters gets 422, in the header or the body', async () => {
    // No HTTP client sends a control character other than a tab in a header: written on the socket.
    const body = '{"type":"a.b","payload":{}}';
    const answer = await rawHttp(
      `POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Type: application/json\r\n` +
        `Idempotency-Key: a\u0001b\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    // Node's HTTP parser refuses it before any route runs, in the envelope.
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('{"ok":false,"err":"bad_request"');
    expectRefused(await stack.call('POST', '/api/v1/events', { type: 'a.b', payload: {} }, { headers: { 'idempotency-key': 'a\tb' } }), 422);
    expectRefused(await stack.call('POST', '/api/v1/events', { type: 'a.b', payload: {}, idempotency_key: 'a\u007fb' }), 422);
    expectRefused(await stack.call('POST', '/api/v1/events', { type: 'a.b', payload: {}, idempotency_key: 'line\nbreak' }), 422);
  });
});

describe('when a date-time is outside the years Temporal and Postgres take', () => {
  it.each([
    ['a since in year 10000 (UTC) on the delivery log', (id: string) => `/api/v1/endpoints/${id}/deliveries?since=${encodeURIComponent('9999-12-31T23:59:59-14:00')}`, 'query.since'],
    ['an until in year 1 on the stats', (id: string) => `/api/v1/endpoints/${id}/stats?until=0001-01-01T00:00:00Z`, 'query.until'],
    ['a since before 1970 on the audit log', () => '/api/v1/audit?since=1969-12-31T23:59:59Z', 'query.since'],
  ])('then %s gets 422 naming it', async (_name, path, field) => {
    const res = await stack.call('GET', path(endpointId));
    expectRefused(res, 422, 'validation_failed');
    expect(paths(res)).toContain(field);
  });
});
