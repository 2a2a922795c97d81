import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { Agent, fetch } from 'undici';
import { z } from 'zod';
import { eventIn } from '../../src/api/schemas';
import { signInbound } from '../../src/inbound/sender';
import { generateCorpus, toJsonText, type BadCase, type Fixtures } from '../helpers/bad-input';
import { Receiver } from '../helpers/receiver';
import { startStack, TEST_TOKEN, type Stack } from '../helpers/stack';

/**
 * The generated corpus of bad requests (see test/helpers/bad-input.ts): every one must get a 4xx
 * in the error envelope within a few seconds. Set CORPUS_REPORT=<file> to write every outcome.
 */

const DEADLINE_MS = 5000;
const CONCURRENCY = 8;

let stack: Stack;
let receiver: Receiver;
let cases: BadCase[] = [];
const outcomes = new Map<BadCase, Outcome>();
const baselines = new Map<string, number>();

interface Outcome {
  status: number | 'hang' | 'error';
  ms: number;
  body: unknown;
}

async function fixtures(): Promise<Fixtures & { source: { id: string; secret: string }; bodies: Record<string, unknown> }> {
  const call = async (method: string, path: string, body: unknown) => {
    const res = await stack.call(method, path, body);
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.data;
  };
  const endpoint = (name: string) => call('POST', '/api/v1/endpoints', { url: `${receiver.url}/${name}`, events: ['fixture.only'], name });
  const main = await endpoint('main');
  const edit = await endpoint('edit');
  const event = await call('POST', '/api/v1/events', { type: 'fixture.only', payload: { n: 1 } });
  const apiKey = await call('POST', '/api/v1/api-keys', { name: 'fixture', role: 'viewer' });
  await call('POST', '/api/v1/event-types', { name: 'fixture.type', payload_schema: { type: 'object' } });
  const source = await call('POST', '/api/v1/sources', { name: 'fixture', allowed_handlers: ['echo', 'relay'], default_handler: 'echo', rate_limit_per_minute: 100_000 });
  const mainScope = { type: 'endpoint', id: main.id };
  const sourceScope = { type: 'source', id: source.id };
  const bodies: Record<string, unknown> = {
    'POST /endpoints': { url: `${receiver.url}/created`, events: ['fixture.created'], name: 'n', headers: { 'X-Team': 'a' }, retry_config: { max_retries: 1 }, template: { kind: 'slack', text: 'hi' } },
    'PUT /endpoints/{id}': { url: `${receiver.url}/edit`, events: ['fixture.only'], retry_config: { max_retries: 1 } },
    'PATCH /endpoints/{id}': { name: 'edited', filters: { n: 1 } },
    'POST /endpoints/{id}/test': { event: 'fixture.test', payload: { n: 1 } },
    'POST /endpoints/{id}/secret/rotate': { grace_seconds: 60 },
    'POST /events': { type: 'fixture.posted', payload: { n: 1 } },
    'POST /deliveries/{id}/cancel': { reason: 'corpus' },
    'POST /endpoints/{id}/recover': { since: '2026-01-01T00:00:00Z' },
    'POST /api-keys': { name: 'corpus', role: 'viewer' },
    'POST /event-types': { name: 'fixture.new', category: 'c', payload_schema: { type: 'object' } },
    'PUT /event-types/{name}': { name: 'fixture.type', version: '1', payload_schema: { type: 'object' } },
    'PATCH /settings': { allow_untyped_events: true },
    'POST /keys/create': { scope: mainScope },
    'POST /keys/rotate': { scope: sourceScope, grace_seconds: 60 },
    'POST /keys/auto/config': { scope: mainScope, interval: '30d' },
    'POST /keys/auto/disable': { scope: mainScope },
    'POST /keys/export': { scope: mainScope, confirm: `export ${main.id}` },
    'POST /sources': { name: 'corpus', allowed_handlers: ['echo'], default_handler: 'echo' },
    'PATCH /sources/{id}': { name: 'renamed' },
    'POST /webhook/in': { n: 1 },
    'POST /webhook/guards/{handler}': { n: 1 },
    'POST /webhook/guards/relay': { type: 'fixture.relayed', payload: { n: 1 } },
    'POST /codec/decode': { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('{}').toString('base64') }] },
    'POST /codec/encode': { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('{}').toString('base64') }] },
  };
  const ids: Record<string, string> = { endpoints: main.id, events: event.event_id, deliveries: event.deliveries[0].id, 'api-keys': apiKey.id, sources: source.id };
  return {
    source,
    bodies,
    token: TEST_TOKEN,
    maxBodyBytes: stack.config.MAX_BODY_BYTES,
    pathParams: (path) => ({
      id: /^\/endpoints\/\{id\}$/.test(path) ? edit.id : ids[path.split('/')[1]!] ?? 'x',
      name: 'fixture.type',
      handler: 'echo',
      rid: `rcv_${'0'.repeat(26)}`,
    }),
    body: (operation) => bodies[operation] as never,
    query: (operation): Record<string, string> => (operation === 'GET /keys/auto' ? { scope_type: 'endpoint', scope_id: main.id as string } : {}),
  };
}

/** Routes outside the OpenAPI document, described the same way for the generator. */
function outsideDocument(): Record<string, unknown> {
  const root = [{ url: '/' }];
  const base64 = { type: 'string', pattern: '^[A-Za-z0-9+/]*={0,2}$' };
  const payloads = {
    type: 'object',
    required: ['payloads'],
    properties: { payloads: { type: 'array', maxItems: 10_000, items: { type: 'object', properties: { metadata: { type: 'object', additionalProperties: base64 }, data: base64 } } } },
  };
  const codec = { post: { servers: root, requestBody: { content: { 'application/json': { schema: payloads } } } } };
  const relay = z.toJSONSchema(eventIn.omit({ idempotency_key: true }), { io: 'input', unrepresentable: 'any' });
  return {
    '/codec/decode': codec,
    '/codec/encode': codec,
    '/webhook/guards/relay': { post: { servers: root, requestBody: { content: { 'application/json': { schema: relay } } } } },
    '/healthz': { get: { servers: root } },
    '/readyz': { get: { servers: root } },
    '/metrics': { get: { servers: root } },
  };
}

/** Signs inbound cases as a partner would, so that they reach the body checks. */
function signed(c: BadCase, source: { id: string; secret: string }): BadCase {
  if (!c.path.startsWith('/webhook/') || c.kind === 'method' || c.kind === 'header') return c;
  const body = c.body ?? '';
  return { ...c, headers: { ...c.headers, 'x-source-id': source.id, ...signInbound({ secret: source.secret, body }) } };
}

/** Inbound header cases: each guard header missing or malformed, the rest signed. */
function inboundHeaderCases(source: { id: string; secret: string }): BadCase[] {
  const body = '{"n":1}';
  const good = () => ({ 'content-type': 'application/json', 'x-source-id': source.id, ...signInbound({ secret: source.secret, body }) });
  const values = ['', 'abc', '-1', '9'.repeat(30), 'x'.repeat(5000), '../../etc/passwd', 'src_../../../x', "' OR 1=1", '\u00ff\u00fe'];
  const out: BadCase[] = [];
  for (const header of ['x-ts', 'x-nonce', 'x-signature', 'x-source-id', 'x-key-id']) {
    // An empty x-key-id is no key id: the source id alone is a valid request.
    for (const value of header === 'x-key-id' ? values.slice(1) : values) {
      out.push({ operation: 'POST /webhook/in', kind: 'header', name: `${header}: ${JSON.stringify(value.slice(0, 20))}`, method: 'POST', path: '/webhook/in', headers: { ...good(), [header]: value }, body });
    }
  }
  return out;
}

/** API request headers the routes read: Idempotency-Key and Last-Event-ID. */
function apiHeaderCases(): BadCase[] {
  const auth = { authorization: `Bearer ${TEST_TOKEN}` };
  const json = { ...auth, 'content-type': 'application/json' };
  const event = JSON.stringify({ type: 'fixture.posted', payload: { n: 1 } });
  const out: BadCase[] = [];
  for (const [what, value] of [['a tab', 'a\tb'], ['oversize', 'k'.repeat(256)], ['empty', ''], ['C1 control', 'a\u0085b']] as const) {
    out.push({ operation: 'POST /events', kind: 'header', name: `Idempotency-Key: ${what}`, method: 'POST', path: '/api/v1/events', headers: { ...json, 'idempotency-key': value }, body: event });
  }
  // Control characters no HTTP client sends: written on the socket.
  for (const [what, value] of [['a control character', 'a\u0001b'], ['DEL', 'a\u007fb'], ['ESC', '\u001b[31m']] as const) {
    const raw = `POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Type: application/json\r\nIdempotency-Key: ${value}\r\nContent-Length: ${event.length}\r\nConnection: close\r\n\r\n${event}`;
    out.push({ operation: 'POST /events', kind: 'header', name: `Idempotency-Key: ${what}`, method: 'POST', path: '/api/v1/events', headers: {}, raw });
  }
  for (const value of ['abc', '-1', '9'.repeat(30), '1.5']) {
    out.push({ operation: 'GET /events/stream', kind: 'header', name: `Last-Event-ID: ${value}`, method: 'GET', path: '/api/v1/events/stream', headers: { ...auth, 'last-event-id': value } });
  }
  // A chunked body has no Content-Length: its type is checked all the same.
  const chunked = (type: string, body: string) =>
    `PATCH /api/v1/settings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Type: ${type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
    out.push({ operation: 'PATCH /settings', kind: 'content-type', name: `chunked ${type}`, method: 'PATCH', path: '/api/v1/settings', headers: {}, raw: chunked(type, 'allow_untyped_events=false') });
  }
  out.push({ operation: 'PATCH /settings', kind: 'json', name: 'chunked deep JSON', method: 'PATCH', path: '/api/v1/settings', headers: {}, raw: chunked('application/json', `{"a":${'['.repeat(100)}${']'.repeat(100)}}`) });
  return out;
}

/** Requests no HTTP client would send: the server's own parser must still answer 4xx in the envelope. */
const RAW_REQUESTS: Array<[string, string]> = [
  ['a malformed request line', 'GARBAGE\r\n\r\n'],
  ['a NUL in a header value', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n'],
  ['a bare LF in a header', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\nb\r\n\r\n'],
  ['a header without a colon', 'GET /healthz HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n'],
  ['two Content-Length headers', 'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'],
  ['Content-Length and chunked', 'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['a bad chunk size', 'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n'],
  ['a negative Content-Length', 'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'],
  ['headers past the size limit', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
  ['an obsolete line folding', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n'],
  ['a space before the colon', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n'],
  ['an unknown HTTP version', 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n'],
];

async function rawRequest(text: string): Promise<Outcome> {
  const { port } = new URL(stack.url);
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let data = '';
    const done = (status: Outcome['status']) => {
      socket.destroy();
      // The first response only: a refused body may be followed by the parser's own refusal.
      const split = data.indexOf('\r\n\r\n');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(data.slice(0, split))?.[1] ?? Number.NaN);
      let body: unknown = split >= 0 ? data.slice(split + 4, Number.isNaN(length) ? undefined : split + 4 + length) : '';
      try {
        body = JSON.parse(body as string);
      } catch {
        // not JSON: kept as text for the report
      }
      resolve({ status, ms: performance.now() - started, body });
    };
    const timer = setTimeout(() => done('hang'), DEADLINE_MS);
    const answered = () => {
      clearTimeout(timer);
      const match = /^HTTP\/1\.1 (\d{3})/.exec(data);
      done(match ? Number(match[1]) : 'error');
    };
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      // A whole answer (headers and a Content-Length body) is the answer, whether or not the
      // server closes the connection after it.
      const split = data.indexOf('\r\n\r\n');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(data.slice(0, split))?.[1] ?? Number.NaN);
      if (split >= 0 && !Number.isNaN(length) && Buffer.byteLength(data, 'latin1') >= split + 4 + length) answered();
    });
    socket.on('close', answered);
    socket.on('error', () => undefined);
    // Written, not ended: a client that half-closes its side has its request aborted by Node's
    // HTTP server if the FIN is read before the answer is written (no real client does that).
    socket.write(text, 'latin1');
  });
}

/** Closes idle sockets well before the server does, so no request goes out on a socket being closed. */
const agent = new Agent({ keepAliveTimeout: 1000, keepAliveMaxTimeout: 1000 });

async function send(c: BadCase): Promise<Outcome> {
  if (c.raw !== undefined) return rawRequest(c.raw);
  const started = performance.now();
  try {
    const res = await fetch(stack.url + c.path, { method: c.method, headers: c.headers, body: c.body, signal: AbortSignal.timeout(DEADLINE_MS * 3), dispatcher: agent });
    const text = (await res.text()).slice(0, 2000);
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: the envelope check reports it
    }
    return { status: res.status, ms: performance.now() - started, body };
  } catch (err) {
    const ms = performance.now() - started;
    return { status: (err as Error).name === 'TimeoutError' ? 'hang' : 'error', ms, body: String(err) };
  }
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

/** What is wrong with an outcome, or null when it is a clean refusal (or, for an extreme but valid value, any answer but a 5xx). */
function problem(o: Outcome, kind: string): string | null {
  if (o.status === 'hang' || o.status === 'error') return String(o.status);
  if (o.status >= 500) return '5xx';
  if (kind === 'extreme' && o.status < 400) return o.ms > DEADLINE_MS ? 'slow' : null;
  if (o.status < 400) return o.status >= 300 ? '3xx' : '2xx';
  if (o.ms > DEADLINE_MS) return 'slow';
  const body = o.body as { ok?: unknown; err?: unknown; msg?: unknown } | null;
  if (!body || typeof body !== 'object' || body.ok !== false || typeof body.err !== 'string' || typeof body.msg !== 'string') return 'no envelope';
  return null;
}

beforeAll(async () => {
  receiver = await Receiver.start();
  // A tenant of its own: what the corpus creates (endpoints for every event, say) never reaches other suites.
  stack = await startStack({ worker: false, env: { EGRESS_ALLOWLIST: '127.0.0.0/8', DEFAULT_TENANT_ID: 'corpus' } });
  const fx = await fixtures();
  const doc = (await stack.call('GET', '/api/v1/openapi.json', undefined, { token: null })).body;
  const apiCases = generateCorpus(doc, fx, '/api/v1');
  const outside = generateCorpus({ paths: outsideDocument() }, { ...fx, token: undefined }, '/');
  cases = [...apiCases, ...outside, ...inboundHeaderCases(fx.source), ...apiHeaderCases()].map((c) => signed(c, fx.source));
  for (const operation of new Set(apiCases.filter((c) => c.path.startsWith('/api/v1/') && c.kind !== 'method').map((c) => c.operation))) {
    const c = apiCases.find((x) => x.operation === operation)!;
    for (const [name, authorization] of [['no credential', undefined], ['a wrong token', 'Bearer nope'], ['another scheme', `Basic ${TEST_TOKEN}`]] as const) {
      const headers = { ...c.headers };
      delete headers.authorization;
      if (authorization) headers.authorization = authorization;
      cases.push({ ...c, kind: 'auth', name, headers });
    }
  }

  for (const [operation, body] of Object.entries(fx.bodies)) {
    const [method, templated] = operation.split(' ') as [string, string];
    const path = (templated.startsWith('/webhook') || templated.startsWith('/codec') ? '' : '/api/v1') + templated.replace(/\{(\w+)\}/g, (_m, n: string) => fx.pathParams(templated)[n]!);
    const c = signed({ operation, kind: 'baseline', name: 'valid', method, path, headers: { 'content-type': 'application/json', ...(path.startsWith('/api/') ? { authorization: `Bearer ${TEST_TOKEN}` } : {}) }, body: toJsonText(body) }, fx.source);
    baselines.set(operation, Number((await send(c)).status));
  }

  await pool(cases, CONCURRENCY, async (c) => {
    outcomes.set(c, await send(c));
  });
  // A case slow or cut off while the shared machine was busy gets one more try, alone: a real hang
  // (or a slow path) is as slow the second time.
  for (const c of cases.filter((x) => ['slow', 'hang', 'error'].includes(problem(outcomes.get(x)!, x.kind) ?? ''))) {
    outcomes.set(c, await send(c));
  }
  for (const [name, raw] of RAW_REQUESTS) {
    const c: BadCase = { operation: 'raw HTTP', kind: 'raw', name, method: '', path: '', headers: {}, raw };
    cases.push(c);
    outcomes.set(c, await send(c));
  }

  if (process.env.CORPUS_REPORT) {
    const rows = cases.map((c) => ({ operation: c.operation, kind: c.kind, name: c.name, ...outcomes.get(c), problem: problem(outcomes.get(c)!, c.kind) }));
    writeFileSync(process.env.CORPUS_REPORT, JSON.stringify(rows, null, 1));
  }
}, 600_000);

afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
});

describe('when the generated corpus of bad requests is sent', () => {
  it('then it covers every documented operation with at least 300 cases', () => {
    expect(cases.filter((c) => c.kind !== 'extreme').length).toBeGreaterThanOrEqual(300);
    const kinds = new Set(cases.map((c) => c.kind));
    for (const kind of ['path', 'query', 'body', 'json', 'content-type', 'content-encoding', 'method', 'auth', 'header', 'raw', 'extreme']) expect(kinds).toContain(kind);
  });

  it('then every bad request gets a 4xx in the error envelope within a few seconds, and no extreme but valid one a 5xx', () => {
    const failures = cases
      .map((c) => ({ c, o: outcomes.get(c)!, why: problem(outcomes.get(c)!, c.kind) }))
      .filter((f) => f.why !== null)
      .map(({ c, o, why }) => `${why} ${o.status} ${Math.round(o.ms)}ms — ${c.operation} [${c.kind}] ${c.name}: ${JSON.stringify(o.body).slice(0, 160)}`);
    expect(failures).toEqual([]);
  });

  it('then the bodies the corpus mutates are themselves valid', () => {
    // A mutation of a body the server refuses for its shape anyway would prove nothing.
    expect(baselines.size).toBeGreaterThan(15);
    const refused = [...baselines].filter(([, status]) => [400, 413, 415, 422].includes(status)).map(([op, status]) => `${op}: ${status}`);
    expect(refused).toEqual([]);
  });
});
