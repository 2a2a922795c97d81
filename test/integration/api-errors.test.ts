import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: false });
});
afterAll(async () => stack?.stop());

const validEndpoint = { url: 'https://example.com/hook', events: ['order.created'] };

function expectEnvelope(res: { status: number; body: any }, status: number, err: string) {
  expect(res.status).toBe(status);
  expect(res.body).toEqual(expect.objectContaining({ ok: false, err, msg: expect.any(String) }));
}

describe('when a request has no or a wrong bearer token', () => {
  it.each([
    ['no token', null],
    ['a wrong token', 'nope'],
  ])('then %s gets 401 in the envelope', async (_name, token) => {
    expectEnvelope(await stack.call('GET', '/api/v1/endpoints', undefined, { token }), 401, 'unauthorized');
    expectEnvelope(await stack.call('POST', '/api/v1/events', { type: 'a.b', payload: {} }, { token }), 401, 'unauthorized');
  });
});

describe('when a body is not valid JSON', () => {
  it('then the answer is 400 invalid_json', async () => {
    expectEnvelope(await stack.call('POST', '/api/v1/endpoints', undefined, { raw: '{"url": ' }), 400, 'invalid_json');
    expectEnvelope(await stack.call('POST', '/api/v1/events', undefined, { raw: 'null' }), 400, 'invalid_json');
  });
});

describe('when a body is not JSON at all', () => {
  it('then the answer is 415', async () => {
    const res = await stack.call('POST', '/api/v1/events', undefined, { raw: 'type=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expectEnvelope(res, 415, 'unsupported_media_type');
  });
});

describe('when a body is too large', () => {
  it('then the answer is 413', async () => {
    const payload = { blob: 'x'.repeat(300 * 1024) };
    expectEnvelope(await stack.call('POST', '/api/v1/events', { type: 'a.b', payload }), 413, 'payload_too_large');
  });
});

describe('when an endpoint is invalid', () => {
  it.each([
    ['an unknown field', { ...validEndpoint, colour: 'red' }, 'body.colour'],
    ['a non-http URL', { ...validEndpoint, url: 'ftp://example.com/x' }, 'body.url'],
    ['a relative URL', { ...validEndpoint, url: '/hook' }, 'body.url'],
    ['no events', { ...validEndpoint, events: [] }, 'body.events'],
    ['a bad event name', { ...validEndpoint, events: ['has space'] }, 'body.events.0'],
    ['a malformed secret', { ...validEndpoint, secret: 'plain' }, 'body.secret'],
    ['an unknown retry option', { ...validEndpoint, retry_config: { tries: 3 } }, 'body.retry_config.tries'],
    ['a missing url', { events: ['order.created'] }, 'body.url'],
    ['a negative retry count', { ...validEndpoint, retry_config: { max_retries: -1 } }, 'body.retry_config.max_retries'],
  ])('then %s gets 422 naming the field', async (_name, body, path) => {
    const res = await stack.call('POST', '/api/v1/endpoints', body);
    expectEnvelope(res, 422, 'validation_failed');
    expect(res.body.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it('then nothing is written', async () => {
    const before = await stack.db('endpoints').count({ n: '*' }).first();
    await stack.call('POST', '/api/v1/endpoints', { ...validEndpoint, url: 'javascript:alert(1)' });
    const after = await stack.db('endpoints').count({ n: '*' }).first();
    expect(after).toEqual(before);
  });
});

describe('when an event is invalid', () => {
  it.each([
    ['an unknown field', { type: 'a.b', payload: {}, extra: 1 }],
    ['no type', { payload: {} }],
    ['a scalar payload', { type: 'a.b', payload: 3 }],
    ['a top-level array', [{ type: 'a.b', payload: {} }]],
  ])('then %s gets 422', async (_name, body) => {
    expectEnvelope(await stack.call('POST', '/api/v1/events', body), 422, 'validation_failed');
  });

  it('then a header key that differs from the body key gets 422', async () => {
    const res = await stack.call('POST', '/api/v1/events', { type: 'a.b', payload: {}, idempotency_key: 'one' }, { headers: { 'idempotency-key': 'two' } });
    expectEnvelope(res, 422, 'validation_failed');
  });
});

describe('when a request has several unknown fields', () => {
  it('then each one gets its own {path, message}, and the message names it', async () => {
    const res = await stack.call('POST', '/api/v1/endpoints', { ...validEndpoint, colour: 'red', size: 2 });
    expectEnvelope(res, 422, 'validation_failed');
    expect(res.body.details).toEqual([
      { path: 'body.colour', message: expect.any(String) },
      { path: 'body.size', message: expect.any(String) },
    ]);
    expect(res.body.msg).toContain('body.colour');
    const query = await stack.call('GET', '/api/v1/endpoints?sort=x');
    expect(query.body.details).toEqual([{ path: 'query.sort', message: expect.any(String) }]);
  });
});

describe("when an event's payload breaks its type's schema", () => {
  beforeAll(async () => {
    const created = await stack.call('POST', '/api/v1/event-types', {
      name: 'order.strict',
      payload_schema: {
        type: 'object',
        additionalProperties: false,
        required: ['order_id', 'lines'],
        properties: {
          order_id: { type: 'integer' },
          lines: { type: 'array', items: { type: 'object', required: ['sku'], properties: { sku: { type: 'string' } } } },
          'a/b~c': { type: 'object', additionalProperties: false, properties: {} },
        },
      },
    });
    expect(created.status).toBe(201);
  });

  it('then an unexpected key is named by its own path', async () => {
    const res = await stack.call('POST', '/api/v1/events', { type: 'order.strict', payload: { order_id: 1, lines: [], extra: true } });
    expectEnvelope(res, 422, 'validation_failed');
    expect(res.body.details).toEqual([expect.objectContaining({ path: 'body.payload.extra', message: 'must NOT have additional properties' })]);
  });

  it('then a missing property is named by its own path, also inside arrays and under keys with / and ~', async () => {
    const res = await stack.call('POST', '/api/v1/events', { type: 'order.strict', payload: { lines: [{ qty: 1 }], 'a/b~c': { z: 1 } } });
    expectEnvelope(res, 422, 'validation_failed');
    expect(res.body.details.map((d: { path: string }) => d.path).sort()).toEqual(['body.payload.a/b~c.z', 'body.payload.lines.0.sku', 'body.payload.order_id']);
  });
});

describe('when ids or queries are malformed', () => {
  it.each([
    ['/api/v1/endpoints/not-an-id', 422, 'validation_failed'],
    ['/api/v1/deliveries/dlv_nope', 422, 'validation_failed'],
    ['/api/v1/deliveries/dlv_01aaaaaaaaaaaaaaaaaaaaaaaa', 404, 'not_found'],
    ['/api/v1/endpoints?limit=0', 422, 'validation_failed'],
    ['/api/v1/endpoints?limit=abc', 422, 'validation_failed'],
    ['/api/v1/endpoints?sort=x', 422, 'validation_failed'],
    ['/api/v1/nothing-here', 404, 'route_not_found'],
    ['/api/v1/endpoints/%E0%A4%A', 400, 'bad_request'],
    ['/api/v1/event-types/%ZZ', 400, 'bad_request'],
  ])('then GET %s gets %i', async (path, status, err) => {
    expectEnvelope(await stack.call('GET', path), status, err);
  });

  it('then a bad delivery-log filter gets 422', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', validEndpoint);
    const id = created.body.data.id;
    for (const query of ['status=maybe', 'since=yesterday', "event_type=a'b", 'cursor=***']) {
      expectEnvelope(await stack.call('GET', `/api/v1/endpoints/${id}/deliveries?${query}`), 422, 'validation_failed');
    }
  });
});

describe('when the process is probed', () => {
  it('then /healthz and /readyz answer without auth', async () => {
    expect((await stack.call('GET', '/healthz', undefined, { token: null })).body).toEqual({ ok: true, data: { status: 'up' } });
    const ready = await stack.call('GET', '/readyz', undefined, { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body.data).toEqual({ database: 'ok', temporal: 'ok' });
  });
});
