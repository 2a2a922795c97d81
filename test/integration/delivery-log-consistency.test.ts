import { Receiver } from '../helpers/receiver';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
let receiver: Receiver;

beforeAll(async () => {
  stack = await startStack({ env: { DEFAULT_TENANT_ID: 'log_consistency' } });
  receiver = await Receiver.start();
});
afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
});

describe('when a delivery is read while it finishes', () => {
  it('then an answer that says succeeded always holds the successful attempt', async () => {
    const endpoint = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/consistent', events: ['log.consistency'] });
    expect(endpoint.status).toBe(201);

    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const event = await stack.call('POST', '/api/v1/events', { type: 'log.consistency', payload: { i } });
      expect(event.status).toBe(202);
      ids.push(event.body.data.deliveries[0].id);
    }
    const inconsistent: string[] = [];
    let succeededReads = 0;
    await Promise.all(
      ids.map(async (id) => {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const res = await stack.call('GET', `/api/v1/deliveries/${id}`);
          expect(res.status).toBe(200);
          const { status, attempts } = res.body.data;
          if (status === 'succeeded') {
            succeededReads++;
            if (attempts.at(-1)?.outcome !== 'succeeded') inconsistent.push(`${id}: ${JSON.stringify(attempts)}`);
            return;
          }
          if (Date.now() > deadline) throw new Error(`delivery ${id} still ${status}`);
        }
      }),
    );
    expect(succeededReads).toBe(ids.length);
    expect(inconsistent).toEqual([]);
  });
});
