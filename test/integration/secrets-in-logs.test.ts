import { Client, Connection } from '@temporalio/client';
import { createApiKey } from '../../src/services/api-keys';
import { sendInbound, signInbound } from '../../src/inbound/sender';
import { parseMasterKey, SecretBox } from '../../src/security/secret-box';
import { generateSecret } from '../../src/security/signing';
import { Receiver } from '../helpers/receiver';
import { eventually, startStack, TEST_CODEC_KEY, TEST_MASTER_KEY, TEST_TOKEN, type Stack } from '../helpers/stack';

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

/** Every form a key can take in a log line: hex, base64, base64url. */
const keyForms = (hex: string) => {
  const bytes = Buffer.from(hex, 'hex');
  return [hex, bytes.toString('base64'), bytes.toString('base64url')];
};

async function finished(deliveryId: string) {
  return eventually(async () => {
    const d = (await stack.call('GET', `/api/v1/deliveries/${deliveryId}`)).body.data;
    return d?.status === 'succeeded' || d?.status === 'failed' ? d : undefined;
  }, 30_000, `delivery ${deliveryId} to finish`);
}

describe('when an endpoint is created and an event delivered with logs at trace level', () => {
  it('then no log line holds the secret, its key bytes or the bearer token', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/logs', events: ['logs.test'] });
    const secret: string = created.body.data.secret;
    const event = await stack.call('POST', '/api/v1/events', { type: 'logs.test', payload: { a: 1 } });
    await finished(event.body.data.deliveries[0].id);
    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThan(5);
    expect(all).toContain('delivery attempt'); // the logs we searched are the real ones
    expect(all).not.toContain(secret);
    expect(all).not.toContain(secret.slice('whsec_'.length));
    expect(all).not.toContain(TEST_TOKEN);
  });
});

describe('when requests and deliveries fail with logs at trace level', () => {
  it('then no log line, and no answer about the failures, holds a sensitive header value, a secret URL, a source or endpoint secret, an API key, or the master and codec keys', async () => {
    const headerValue = 'Bearer hdr-secret-9f8e7d6c5b';
    const urlToken = 'u7Tk29Qx84Lm3Zp6Wv1Rn5Ys';
    const created = await stack.call('POST', '/api/v1/endpoints', {
      url: `${receiver.url}/fail/${urlToken}`,
      events: ['logs.fail'],
      headers: { Authorization: { value: headerValue, sensitive: true } },
      retry_config: { schedule: [100, 100], jitter: 0 },
    });
    expect(created.status).toBe(201);
    // Failed sends: the receiver answers 500 quoting the request; then it cannot be reached at all.
    receiver.respond((req) => ({ status: 500, body: `${req.path} ${req.headers.authorization}` }));
    const failing = await stack.call('POST', '/api/v1/events', { type: 'logs.fail', payload: { n: 1 } });
    const failed = await finished(failing.body.data.deliveries[0].id);
    expect(failed.status).toBe('failed');
    const testSend = await stack.call('POST', `/api/v1/endpoints/${created.body.data.id}/test`, {});
    receiver.respond(() => ({ status: 200 }));
    // What the API answers about the failures: the delivery log and the test send.
    const answers = JSON.stringify([failed, testSend.body, (await stack.call('GET', `/api/v1/endpoints/${created.body.data.id}`)).body]);

    // A failed decrypt: the endpoint's key sealed under a master key this process does not have.
    const other = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/undecryptable', events: ['logs.undecryptable'], retry_config: { schedule: [], jitter: 0 } });
    const key = await stack.db('signing_keys').where({ scope_id: other.body.data.id }).first();
    const stranger = new SecretBox(parseMasterKey('7e'.repeat(16) + '1f'.repeat(16)));
    await stack.db('signing_keys').where({ id: key.id }).update({ ciphertext: stranger.seal(other.body.data.secret, `endpoint:${other.body.data.id}:${key.id}`) });
    const undecryptable = await stack.call('POST', '/api/v1/events', { type: 'logs.undecryptable', payload: {} });
    const tested = await stack.call('POST', `/api/v1/endpoints/${other.body.data.id}/test`, {});
    expect(tested.status).toBe(500);
    await eventually(async () => (lines.some((l) => l.includes('neither MASTER_KEY')) ? true : undefined), 30_000, 'the failed decrypt to be logged');
    await stack.temporal.workflow.getHandle(`delivery-${undecryptable.body.data.event_id}-${other.body.data.id}`).terminate('test done');

    // Inbound: a source secret, good and bad signatures, a replay.
    const source = (await stack.call('POST', '/api/v1/sources', { name: 'logged', allowed_handlers: ['echo'], default_handler: 'echo' })).body.data;
    const body = '{"in":1}';
    const headers = { 'content-type': 'application/json', 'x-source-id': source.id, ...signInbound({ secret: source.secret, body }) };
    for (let i = 0; i < 2; i++) await fetch(`${stack.url}/webhook/in`, { method: 'POST', headers, body });
    await sendInbound({ url: `${stack.url}/webhook/in`, sourceId: source.id, secret: generateSecret(), body });

    // An API key, right and wrong; a codec decode that fails.
    const { key: apiKey } = await createApiKey(stack.db, null, { tenantId: 'default', name: 'logged', scopes: ['deliveries:read'], expiresAt: null });
    await stack.call('GET', '/api/v1/endpoints', undefined, { token: apiKey });
    await stack.call('GET', '/api/v1/endpoints', undefined, { token: `${apiKey}x` });
    expect((await stack.call('POST', '/codec/decode', { payloads: [{ metadata: { encoding: Buffer.from('binary/encrypted').toString('base64') }, data: 'AAAA' }] })).status).toBe(422);

    // A client of its own reading history through a codec without the key: a failed decrypt in the SDK.
    const bare = new Client({ connection: await Connection.connect({ address: stack.config.TEMPORAL_ADDRESS! }), namespace: stack.config.TEMPORAL_NAMESPACE });
    await bare.workflow.getHandle(`delivery-${failing.body.data.event_id}-${created.body.data.id}`).fetchHistory().catch(() => undefined);
    await bare.connection.close();

    const all = lines.join('\n');
    expect(all).toContain('delivery attempt');
    expect(all).toContain('inbound webhook');
    const secrets = [
      headerValue,
      headerValue.slice('Bearer '.length),
      urlToken,
      created.body.data.secret,
      created.body.data.secret.slice('whsec_'.length),
      other.body.data.secret.slice('whsec_'.length),
      source.secret,
      source.secret.slice('whsec_'.length),
      apiKey,
      TEST_TOKEN,
      ...keyForms(TEST_MASTER_KEY),
      ...keyForms(TEST_CODEC_KEY),
    ];
    expect(secrets.filter((s) => all.includes(s))).toEqual([]);
    expect(secrets.filter((s) => answers.includes(s))).toEqual([]);
  });
});
