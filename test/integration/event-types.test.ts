import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: false });
});
afterAll(async () => stack?.stop());

const orderSchema = {
  type: 'object',
  required: ['order_id', 'amount'],
  properties: { order_id: { type: 'integer' }, amount: { type: 'number', minimum: 0 }, email: { type: 'string', format: 'email' } },
  additionalProperties: false,
};

describe('when event types are added to the catalog', () => {
  it('then they list grouped by category with counts, and one shows subscribers and last use', async () => {
    for (const [name, category] of [['cat.order.created', 'orders'], ['cat.order.paid', 'orders'], ['cat.user.created', 'users']]) {
      const res = await stack.call('POST', '/api/v1/event-types', { name, category, version: '1', description: `${name} happened`, payload_schema: orderSchema, example_payload: { order_id: 1, amount: 2 } });
      expect(res.status).toBe(201);
    }
    expect((await stack.call('POST', '/api/v1/event-types', { name: 'cat.order.paid' })).status).toBe(409);

    const list = await stack.call('GET', '/api/v1/event-types');
    const groups = Object.fromEntries(list.body.data.categories.map((c: { category: string; count: number }) => [c.category, c.count]));
    expect(groups).toMatchObject({ orders: 2, users: 1 });

    await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/et', events: ['cat.order.created'] });
    await stack.call('POST', '/api/v1/events', { type: 'cat.order.created', payload: { order_id: 7, amount: 10 } });
    const one = await stack.call('GET', '/api/v1/event-types/cat.order.created');
    expect(one.body.data).toMatchObject({ name: 'cat.order.created', category: 'orders', subscribers: expect.any(Number), last_fired_at: expect.any(String) });
    expect(one.body.data.subscribers).toBeGreaterThanOrEqual(1);
  });

  it('then an invalid schema, or an example that does not match it, is refused with 422', async () => {
    const bad = await stack.call('POST', '/api/v1/event-types', { name: 'cat.bad', payload_schema: { type: 'nonsense' } });
    expect(bad.status).toBe(422);
    expect(bad.body.details[0].path).toContain('body.payload_schema');
    const mismatch = await stack.call('POST', '/api/v1/event-types', { name: 'cat.bad2', payload_schema: orderSchema, example_payload: { order_id: 'x' } });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.details.map((d: { path: string }) => d.path)).toContain('body.example_payload.order_id');
  });
});

describe('when a typed event is ingested', () => {
  it('then a payload breaking the schema gets 422 with every error path, and nothing is stored', async () => {
    const before = await stack.db('events').count({ n: '*' }).first();
    const res = await stack.call('POST', '/api/v1/events', { type: 'cat.order.paid', payload: { order_id: 'seven', amount: -1, extra: true, email: 'not-an-email' } });
    expect(res.status).toBe(422);
    const paths = res.body.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['body.payload.order_id', 'body.payload.amount', 'body.payload.email', 'body.payload.extra']));
    expect(await stack.db('events').count({ n: '*' }).first()).toEqual(before);
  });

  it('then a valid payload is accepted', async () => {
    expect((await stack.call('POST', '/api/v1/events', { type: 'cat.order.paid', payload: { order_id: 1, amount: 5 } })).status).toBe(202);
  });
});

describe('when the tenant refuses untyped events', () => {
  it('then an event type outside the catalog gets 422, and typed ones still pass', async () => {
    expect((await stack.call('PATCH', '/api/v1/settings', { allow_untyped_events: false })).body.data).toEqual({ allow_untyped_events: false, retention_days: 30 });
    const res = await stack.call('POST', '/api/v1/events', { type: 'not.in.catalog', payload: {} });
    expect(res.status).toBe(422);
    expect(res.body.err).toBe('unknown_event_type');
    expect((await stack.call('POST', '/api/v1/events', { type: 'cat.order.paid', payload: { order_id: 1, amount: 5 } })).status).toBe(202);
    await stack.call('PATCH', '/api/v1/settings', { allow_untyped_events: true });
    expect((await stack.call('POST', '/api/v1/events', { type: 'not.in.catalog', payload: {} })).status).toBe(202);
  });
});

describe('when an event type is replaced and deleted', () => {
  it('then PUT changes it, DELETE hides it, and both are audited', async () => {
    await stack.call('POST', '/api/v1/event-types', { name: 'cat.temp', category: 'misc' });
    const put = await stack.call('PUT', '/api/v1/event-types/cat.temp', { name: 'cat.temp', category: 'other', deprecated: true });
    expect(put.body.data).toMatchObject({ category: 'other', deprecated: true });
    expect((await stack.call('GET', '/api/v1/event-types?include_deprecated=false')).body.data.categories.map((c: { category: string }) => c.category)).not.toContain('other');
    expect((await stack.call('DELETE', '/api/v1/event-types/cat.temp')).status).toBe(200);
    expect((await stack.call('GET', '/api/v1/event-types/cat.temp')).status).toBe(404);
    const actions = (await stack.db('audit_log').where({ resource_id: 'cat.temp' }).orderBy('id')).map((r: { action: string }) => r.action);
    expect(actions).toEqual(['EventTypeCreated', 'EventTypeUpdated', 'EventTypeDeleted']);
  });
});
