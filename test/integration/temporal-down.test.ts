import { Client, Connection } from '@temporalio/client';
import { startApi } from '../../src/api/start-api';
import { closeServer } from '../../src/bootstrap';
import { createLogger } from '../../src/logger';
import { apiGrpcInterceptors } from '../../src/temporal/client';
import { SecretBox } from '../../src/security/secret-box';
import { startStack, TEST_MASTER_KEY, TEST_TOKEN, type Stack } from '../helpers/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: false });
});
afterAll(async () => stack?.stop());

describe('when Temporal cannot be reached', () => {
  // First: the next test closes the stack's connection for good.
  it('then reading a delivery log from an address where nothing answers is a 503 with Retry-After within seconds, not a 500', async () => {
    await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/h', events: ['down.read'] });
    const event = await stack.call('POST', '/api/v1/events', { type: 'down.read', payload: {} });
    const delivery = event.body.data.deliveries[0];
    const nowhere = Connection.lazy({ address: '127.0.0.1:1', connectTimeout: '1s', interceptors: apiGrpcInterceptors() });
    const temporal = new Client({ connection: nowhere, namespace: stack.config.TEMPORAL_NAMESPACE });
    const log = createLogger('silent');
    const { server, url } = await startApi({ config: stack.config, db: stack.db, box: new SecretBox(Buffer.from(TEST_MASTER_KEY, 'hex')), temporal, log });
    try {
      const started = Date.now();
      const res = await fetch(`${url}/api/v1/deliveries/${delivery.id}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
      expect([res.status, ((await res.json()) as { err: string }).err]).toEqual([503, 'unavailable']);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Date.now() - started).toBeLessThan(8000);
    } finally {
      await closeServer(server);
      // The request's other gRPC call may still be between retries; closing the channel under it
      // makes the SDK's retry timer throw. Its retry budget is about a second.
      await new Promise((r) => setTimeout(r, 2500));
      await nowhere.close().catch(() => undefined);
    }
  });
  it('then ingest answers 503 in the envelope, keeps the event, and readiness fails', async () => {
    const endpoint = await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/h', events: ['down.test'] });
    expect(endpoint.status).toBe(201);
    await stack.temporal.connection.close();

    const res = await stack.call('POST', '/api/v1/events', { type: 'down.test', payload: {} }, { headers: { 'idempotency-key': 'down-1' } });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ ok: false, err: 'unavailable', msg: expect.stringMatching(/stored and will be delivered.*same Idempotency-Key/) });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    const stored = await stack.db('events').where({ idempotency_key: 'down-1' }).first();
    expect(stored.dispatched_at).toBeNull();

    const keyless = await stack.call('POST', '/api/v1/events', { type: 'down.test', payload: {} });
    expect([keyless.status, keyless.body.err]).toEqual([503, 'unavailable']);
    expect(keyless.body.msg).toMatch(/stored and will be delivered/);
    expect(keyless.body.msg).not.toMatch(/retry with the same Idempotency-Key|retrying with the same/i);

    const ready = await stack.call('GET', '/readyz', undefined, { token: null });
    expect(ready.status).toBe(503);
    // Which dependency is down, never its error text (hosts, users, internals).
    expect(ready.body).toEqual({ ok: false, err: 'not_ready', msg: 'database: ok; temporal: unreachable' });
  });

});
