import { Receiver } from '../helpers/receiver';
import { eventually, startStack, type Stack } from '../helpers/stack';

const lines: string[] = [];
let stack: Stack;
let receiver: Receiver;

beforeAll(async () => {
  stack = await startStack({ env: { LOG_LEVEL: 'trace' }, logLines: lines });
  receiver = await Receiver.start();
});
afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
});

describe('when an endpoint is created and an event delivered with logs at trace level', () => {
  it('then no log line holds the secret, its key bytes or the bearer token', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/logs', events: ['logs.test'] });
    const secret: string = created.body.data.secret;
    const event = await stack.call('POST', '/api/v1/events', { type: 'logs.test', payload: { a: 1 } });
    const id = event.body.data.deliveries[0].id;
    await eventually(async () => {
      const res = await stack.call('GET', `/api/v1/deliveries/${id}`);
      return res.body.data.status === 'succeeded' ? true : undefined;
    });
    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThan(5);
    expect(all).toContain('delivery attempt'); // the logs we searched are the real ones
    expect(all).not.toContain(secret);
    expect(all).not.toContain(secret.slice('whsec_'.length));
    expect(all).not.toContain('test-token-0123456789');
  });
});
