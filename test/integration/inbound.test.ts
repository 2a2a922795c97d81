import { signInbound, sendInbound } from '../../src/inbound/sender';
import { generateSecret } from '../../src/security/signing';
import { REJECTED_ROWS_PER_SOURCE_MINUTE } from '../../src/inbound/recent-rejections';
import { Receiver } from '../helpers/receiver';
import { eventually, startStack, type Stack } from '../helpers/stack';

let stack: Stack;
let receiver: Receiver;
let source: { id: string; secret: string; key_id: string };

beforeAll(async () => {
  stack = await startStack();
  receiver = await Receiver.start();
  const res = await stack.call('POST', '/api/v1/sources', { name: 'partner', allowed_handlers: ['echo', 'relay'], default_handler: 'echo' });
  expect(res.status).toBe(201);
  source = res.body.data;
});
afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
});

const send = (body: unknown, over: Partial<Parameters<typeof sendInbound>[0]> = {}, path = '/webhook/in') =>
  sendInbound({ url: stack.url + path, sourceId: source.id, secret: source.secret, body: JSON.stringify(body), ...over });

/** Raw request with full control over the headers. */
async function rawPost(headers: Record<string, string>, body: string, path = '/webhook/in') {
  const res = await fetch(stack.url + path, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as any };
}

const counts = async () => ({
  nonces: Number((await stack.db('inbound_nonces').count({ n: '*' }).first())!.n),
  events: Number((await stack.db('events').count({ n: '*' }).first())!.n),
  telemetry: Number((await stack.db('telemetry_events').where({ kind: 'inbound_request' }).count({ n: '*' }).first())!.n),
});

describe('when a partner sends a correctly signed webhook', () => {
  it('then the echo handler answers what was verified, with a trace id that finds the telemetry', async () => {
    const res = await send({ hello: 'world' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, trace_id: expect.any(String), data: { source_id: source.id, key_id: source.key_id, body: { hello: 'world' } } });
    const telemetry = await stack.call('GET', `/api/v1/telemetry?trace_id=${(res.body as any).trace_id}`);
    expect(telemetry.body.data.items).toEqual([
      expect.objectContaining({ kind: 'inbound_request', source: source.id, result: 'ok', details: expect.objectContaining({ risk_score: expect.any(Number), body_bytes: 17 }) }),
    ]);
  });

  it('then the relay handler turns it into an outbound event, delivered once even if the request is replayed', async () => {
    await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/relayed', events: ['inbound.relayed'] });
    const body = JSON.stringify({ type: 'inbound.relayed', payload: { from: 'partner' } });
    const headers = { 'content-type': 'application/json', 'x-source-id': source.id, ...signInbound({ secret: source.secret, body }) };
    const first = await rawPost(headers, body, '/webhook/guards/relay');
    expect(first.status).toBe(200);
    expect(first.body.data.deliveries).toHaveLength(1);
    const again = await rawPost(headers, body, '/webhook/guards/relay');
    expect(again.status).toBe(409);
    expect(again.body.err).toBe('replayed_nonce');
    const [request] = await receiver.waitForRequests(1, 30_000, '/relayed');
    expect(JSON.parse(request!.body).data).toEqual({ from: 'partner' });
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests.filter((r) => r.path === '/relayed')).toHaveLength(1);
  });

  it('then naming only the key id also works', async () => {
    const res = await send({ a: 1 }, { sourceId: undefined, keyId: source.key_id });
    expect(res.status).toBe(200);
  });
});

describe('when a webhook fails the guard', () => {
  const body = JSON.stringify({ n: 1 });
  const base = () => ({ 'content-type': 'application/json', 'x-source-id': source.id, ...signInbound({ secret: source.secret, body }) });
  const now = Math.floor(Date.now() / 1000);
  const cases: Array<[string, number, string, () => { headers: Record<string, string>; body: string; path?: string }, boolean]> = [
    ['no x-ts', 400, 'missing_x_ts', () => { const { 'x-ts': _, ...h } = base(); return { headers: h, body }; }, false],
    ['no x-nonce', 400, 'missing_x_nonce', () => { const { 'x-nonce': _, ...h } = base(); return { headers: h, body }; }, false],
    ['no x-signature', 400, 'missing_x_signature', () => { const { 'x-signature': _, ...h } = base(); return { headers: h, body }; }, false],
    ['no source or key id', 400, 'missing_source', () => { const { 'x-source-id': _, ...h } = base(); return { headers: h, body }; }, false],
    ['a malformed x-ts', 400, 'invalid_x_ts', () => ({ headers: { ...base(), 'x-ts': 'yesterday' }, body }), false],
    ['a short nonce', 400, 'invalid_x_nonce', () => ({ headers: { ...base(), 'x-nonce': 'abc' }, body }), false],
    ['a non-hex signature', 400, 'invalid_x_signature', () => ({ headers: { ...base(), 'x-signature': 'zz' }, body }), false],
    ['a timestamp too old', 401, 'timestamp_too_old', () => ({ headers: { 'content-type': 'application/json', 'x-source-id': source.id, ...signInbound({ secret: source.secret, body, ts: now - 301 }) }, body }), true],
    ['a timestamp in the future', 401, 'timestamp_in_future', () => ({ headers: { 'content-type': 'application/json', 'x-source-id': source.id, ...signInbound({ secret: source.secret, body, ts: now + 400 }) }, body }), true],
    ['an unknown source', 401, 'unknown_source', () => ({ headers: { ...base(), 'x-source-id': 'src_01aaaaaaaaaaaaaaaaaaaaaaaa' }, body }), false],
    ['a key id that is not the source’s', 401, 'unknown_key', () => ({ headers: { ...base(), 'x-key-id': 'key_01aaaaaaaaaaaaaaaaaaaaaaaa' }, body }), true],
    ['a signature made with another secret', 401, 'bad_signature', () => ({ headers: { 'content-type': 'application/json', 'x-source-id': source.id, ...signInbound({ secret: generateSecret(), body }) }, body }), true],
    ['a tampered body', 401, 'bad_signature', () => ({ headers: base(), body: JSON.stringify({ n: 2 }) }), true],
    ['a body that is not JSON content', 415, 'unsupported_media_type', () => ({ headers: { ...base(), 'content-type': 'text/plain' }, body }), false],
    ['an oversized body', 413, 'payload_too_large', () => { const big = JSON.stringify({ x: 'y'.repeat(300 * 1024) }); return { headers: { 'content-type': 'application/json', 'x-source-id': source.id, ...signInbound({ secret: source.secret, body: big }) }, body: big }; }, false],
    ['an unknown handler', 404, 'unknown_handler', () => ({ headers: base(), body, path: '/webhook/guards/nope' }), true],
  ];

  it.each(cases)('then %s gets %i %s, and nothing but telemetry of a known source is written', async (_name, status, code, make, sourceKnown) => {
    const before = await counts();
    const req = make();
    const res = await rawPost(req.headers, req.body, req.path);
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ ok: false, err: code, msg: expect.any(String), trace_id: expect.any(String) });
    const after = await counts();
    expect(after).toEqual({ ...before, telemetry: before.telemetry + (sourceKnown ? 1 : 0) });
    if (!sourceKnown) return;
    const record = await stack.db('telemetry_events').where({ trace_id: res.body.trace_id }).first();
    expect(record).toMatchObject({ result: code, tenant_id: 'default', source: source.id });
    expect(record.details.risk_score).toBeGreaterThan(0);
  });

  it('then a handler the source may not use gets 403', async () => {
    const limited = (await stack.call('POST', '/api/v1/sources', { name: 'echo-only', allowed_handlers: ['echo'], default_handler: 'echo' })).body.data;
    const res = await sendInbound({ url: stack.url + '/webhook/guards/relay', sourceId: limited.id, secret: limited.secret, body: JSON.stringify({ type: 'a.b', payload: {} }) });
    expect(res.status).toBe(403);
    expect((res.body as any).err).toBe('handler_not_allowed');
  });

  it('then repeated signature failures raise the risk score', async () => {
    const scores: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await rawPost({ 'content-type': 'application/json', 'x-source-id': source.id, ...signInbound({ secret: generateSecret(), body }) }, body);
      scores.push((await stack.db('telemetry_events').where({ trace_id: res.body.trace_id }).first()).details.risk_score);
    }
    expect(scores[3]).toBeGreaterThan(scores[0]!);
  });
});

describe('when unauthenticated requests flood /webhook/in', () => {
  it('then requests of unknown sources write no row (only a metric), and a known source gets a bounded number of rejection rows a minute', async () => {
    const before = await counts();
    const flood = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        rawPost({ 'content-type': 'application/json', 'x-source-id': `src_01flood${String(i).padStart(19, '0')}`, ...signInbound({ secret: generateSecret(), body: '{}' }) }, '{}'),
      ),
    );
    expect(flood.every((r) => r.status === 401 && r.body.err === 'unknown_source')).toBe(true);
    expect(await counts()).toEqual(before);
    expect(await stack.db('telemetry_events').where({ tenant_id: 'unknown' }).count({ n: '*' }).first()).toEqual({ n: '0' });
    const metrics = (await stack.call('GET', '/metrics', undefined, { token: null })).body as string;
    expect(metrics).toMatch(/webhooks_inbound_requests_total\{result="unknown_source",source="unknown"\} (\d+)/);
    expect(Number(/webhooks_inbound_requests_total\{result="unknown_source",source="unknown"\} (\d+)/.exec(metrics)![1])).toBeGreaterThanOrEqual(40);

    const target = (await stack.call('POST', '/api/v1/sources', { name: 'targeted', allowed_handlers: ['echo'], default_handler: 'echo' })).body.data;
    const bad = { 'content-type': 'application/json', 'x-source-id': target.id };
    for (let i = 0; i < 3; i++) {
      await Promise.all(Array.from({ length: 30 }, () => rawPost({ ...bad, ...signInbound({ secret: generateSecret(), body: '{}' }) }, '{}')));
    }
    const rows = Number((await stack.db('telemetry_events').where({ source: target.id }).count({ n: '*' }).first())!.n);
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThanOrEqual(2 * REJECTED_ROWS_PER_SOURCE_MINUTE); // the flood may straddle a minute
    expect((await send({ still: 'works' }, { sourceId: target.id, secret: target.secret })).status).toBe(200);
  });
});

describe('when one source floods', () => {
  it('then requests beyond its rate limit get 429 and spend no nonce', async () => {
    const flood = (await stack.call('POST', '/api/v1/sources', { name: 'flood', allowed_handlers: ['echo'], default_handler: 'echo', rate_limit_per_minute: 3 })).body.data;
    const results = [];
    for (let i = 0; i < 8; i++) results.push(await sendInbound({ url: stack.url + '/webhook/in', sourceId: flood.id, secret: flood.secret, body: `{"i":${i}}` }));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect((limited[0]!.body as any).err).toBe('rate_limited');
    const nonces = await stack.db('inbound_nonces').where({ source_id: flood.id }).count({ n: '*' }).first();
    expect(Number(nonces!.n)).toBe(results.filter((r) => r.status === 200).length);
  });
});

describe("when a source's key is rotated", () => {
  it('then during the grace period both the old and the new secret pass the guard', async () => {
    const rotating = (await stack.call('POST', '/api/v1/sources', { name: 'rotating', allowed_handlers: ['echo'], default_handler: 'echo' })).body.data;
    const scope = { type: 'source', id: rotating.id };
    const rotated = await stack.call('POST', '/api/v1/keys/rotate', { scope, grace_seconds: 600 });
    expect(rotated.status).toBe(202);
    const exported = await eventually(async () => {
      const res = await stack.call('POST', '/api/v1/keys/export', { scope, confirm: `export ${rotating.id}` });
      return res.status === 200 && res.body.data.keys.length === 2 ? res.body.data.keys : undefined;
    }, 30_000, 'the new key to be active');
    const fresh = exported.find((k: { state: string }) => k.state === 'active');
    expect(fresh.id).not.toBe(rotating.key_id);
    const url = stack.url + '/webhook/in';
    expect((await sendInbound({ url, sourceId: rotating.id, secret: rotating.secret, body: '{"old":true}' })).status).toBe(200);
    expect((await sendInbound({ url, sourceId: rotating.id, secret: fresh.secret, body: '{"new":true}' })).status).toBe(200);
    expect((await sendInbound({ url, keyId: fresh.id, secret: rotating.secret, body: '{"mixed":true}' })).status).toBe(401);
  });
});
