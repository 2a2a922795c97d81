import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: false });
});
afterAll(async () => stack?.stop());

describe('when Temporal cannot be reached', () => {
  it('then ingest answers 503 in the envelope, keeps the event, and readiness fails', async () => {
    const endpoint = await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/h', events: ['down.test'] });
    expect(endpoint.status).toBe(201);
    await stack.temporal.connection.close();

    const res = await stack.call('POST', '/api/v1/events', { type: 'down.test', payload: {} }, { headers: { 'idempotency-key': 'down-1' } });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ ok: false, err: 'unavailable', msg: expect.stringContaining('same Idempotency-Key') });
    const stored = await stack.db('events').where({ idempotency_key: 'down-1' }).first();
    expect(stored.dispatched_at).toBeNull();

    const ready = await stack.call('GET', '/readyz', undefined, { token: null });
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ ok: false, err: 'not_ready', msg: expect.stringContaining('temporal: unreachable') });
  });
});
