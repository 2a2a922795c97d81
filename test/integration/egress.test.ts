import type { Receiver } from '../helpers/receiver';
import { eventually, startStack, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

let strict: Stack;
let listed: Stack;
let receiver: Receiver;

beforeAll(async () => {
  ({ stack: strict, receiver } = await startStackWithReceiver({ env: { EGRESS_ALLOW_PRIVATE: 'false' } }));
  listed = await startStack({ env: { EGRESS_ALLOW_PRIVATE: 'false', EGRESS_ALLOWLIST: 'hooks.example.com,127.0.0.1/32' } });
});
afterAll(async () => {
  await listed?.stop();
  await stopAll(strict, receiver);
});

const FAST = { schedule: [100, 100], jitter: 0 };

async function failedDelivery(stack: Stack, id: string) {
  return eventually(async () => {
    const res = await stack.call('GET', `/api/v1/deliveries/${id}`);
    return res.body.data?.status === 'failed' ? res.body.data : undefined;
  }, 30_000, `delivery ${id} to fail`);
}

describe('when private destinations are refused', () => {
  it.each([['an IP literal', (url: string) => url], ['localhost', (url: string) => url.replace('127.0.0.1', 'localhost')]])(
    'then an endpoint naming %s is refused with 422 on url, and nothing is stored',
    async (_name, toUrl) => {
      const res = await strict.call('POST', '/api/v1/endpoints', { url: toUrl(receiver.url + '/x'), events: ['egress.refused'] });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ ok: false, err: 'validation_failed', details: [{ path: 'body.url', message: expect.stringContaining('non-public address') }] });
      expect(await strict.db('endpoints').whereRaw("events::text like '%egress.refused%'")).toHaveLength(0);
    },
  );

  it.each([['an IP literal', '127.0.0.1'], ['a name resolving to loopback', 'localhost']])(
    'then a delivery to %s saved before the policy fails at once as egress_blocked, and nothing is sent',
    async (name, host) => {
      const type = `egress.${host.replace(/\W/g, '')}`;
      const created = await strict.call('POST', '/api/v1/endpoints', { url: 'https://hooks.example.com/x', events: [type], retry_config: FAST });
      // As if the endpoint had been saved before the policy was tightened.
      const path = `/egress-${host}`;
      await strict.db('endpoints').where({ id: created.body.data.id }).update({ url: receiver.url.replace('127.0.0.1', host) + path });
      const sent = await strict.call('POST', '/api/v1/events', { type, payload: { name } });
      const delivery = await failedDelivery(strict, sent.body.data.deliveries[0].id);
      expect(delivery.attempts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'failed', error_class: 'egress_blocked', error_message: expect.stringContaining('non-public address') })]);
      const tested = await strict.call('POST', `/api/v1/endpoints/${created.body.data.id}/test`, {});
      expect(tested.body.data).toMatchObject({ status: 'failed', error_class: 'egress_blocked' });
      expect(receiver.requests.filter((r) => r.path === path)).toHaveLength(0);
    },
  );
});

describe('when an allowlist is set', () => {
  it('then destinations outside it are refused, and a private range it names is allowed', async () => {
    // Names are checked on resolution when the list has ranges; addresses are checked on save.
    for (const url of ['https://93.184.216.34/x', receiver.url.replace('127.0.0.1', '127.0.0.2') + '/x']) {
      const outside = await listed.call('POST', '/api/v1/endpoints', { url, events: ['egress.listed'] });
      expect(outside.status).toBe(422);
      expect(outside.body.details[0].message).toContain('EGRESS_ALLOWLIST');
    }
    expect((await listed.call('POST', '/api/v1/endpoints', { url: 'https://hooks.example.com/x', events: ['egress.listed'] })).status).toBe(201);

    const inRange = await listed.call('POST', '/api/v1/endpoints', { url: receiver.url + '/listed', events: ['egress.listed.ok'] });
    expect(inRange.status).toBe(201);
    const tested = await listed.call('POST', `/api/v1/endpoints/${inRange.body.data.id}/test`, {});
    expect(tested.body.data).toMatchObject({ status: 'succeeded', response_code: 200 });
    expect(receiver.requests.filter((r) => r.path === '/listed')).toHaveLength(1);
  });
});

describe('when NODE_ENV is not set at all', () => {
  it('then the process has the production guard: a loopback destination is refused with 422', async () => {
    const token = '4e9b2f7a1c6d3085be27f4a9c1d6e3b8';
    const unset = await startStack({
      worker: false,
      env: { NODE_ENV: '', API_TOKEN: token, MASTER_KEY: '9c4e1a7f3b5d2086ce41a9f7b3d5e2c8064af1b9d3e7c5a28f0b6d4c2e1a3f5b', TEMPORAL_CODEC_KEY: 'e17a4c9f2b6d08351fa7c4e9b2d6f0837c5a1e9b4f2d6c08a3e7b1f5d9c2a4e6' },
    });
    try {
      expect(unset.config.NODE_ENV).toBe('production');
      const res = await unset.call('POST', '/api/v1/endpoints', { url: receiver.url + '/unset', events: ['egress.unset'] }, { token });
      expect(res.status).toBe(422);
      expect(res.body.details[0]).toMatchObject({ path: 'body.url', message: expect.stringContaining('non-public address') });
    } finally {
      await unset.stop();
    }
  });
});
