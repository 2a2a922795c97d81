import { request } from 'undici';
import { Client } from '@temporalio/client';
import { ENCRYPTED_ENCODING } from '../../src/temporal/payload-codec';
import { createApiKey } from '../../src/services/api-keys';
import type { Receiver } from '../helpers/receiver';
import { eventually, startStack, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

let stack: Stack;
let receiver: Receiver;
const MARKER = 'excerpt-PLAINTEXT-marker';
let deliveryId: string;
let workflowId: string;

beforeAll(async () => {
  ({ stack, receiver } = await startStackWithReceiver());
  receiver.respond(() => ({ status: 200, body: MARKER }));
  await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/codec', events: ['codec.sent'] });
  const sent = await stack.call('POST', '/api/v1/events', { type: 'codec.sent', payload: { n: 1 } });
  deliveryId = sent.body.data.deliveries[0].id;
  const delivery = await eventually(async () => {
    const d = (await stack.call('GET', `/api/v1/deliveries/${deliveryId}`)).body.data;
    return d?.status === 'succeeded' ? d : undefined;
  }, 30_000, 'the delivery to succeed');
  workflowId = delivery.workflow_id;
});
afterAll(() => stopAll(stack, receiver));

/** The history as the Temporal server stores it: read with no codec. */
async function rawHistory() {
  const plain = new Client({ connection: stack.temporal.connection, namespace: stack.config.TEMPORAL_NAMESPACE });
  return plain.workflow.getHandle(workflowId).fetchHistory();
}

/** The stored payload of the delivery's attempt: its one-step attempt's result, in a local-activity marker. */
function attemptPayloads(history: Awaited<ReturnType<typeof rawHistory>>) {
  const marker = history.events!.find((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')!.markerRecordedEventAttributes!;
  return marker.details!.result!.payloads!;
}

/** Every byte string anywhere in the history (payload data and metadata), joined. */
function allBytes(value: unknown): Buffer {
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (value === null || typeof value !== 'object') return Buffer.alloc(0);
  return Buffer.concat(Object.values(value).map(allBytes));
}

const b64 = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('base64');
const asJson = (p: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
  data: b64(p.data),
});

describe('when payload encryption is on', () => {
  it('then the server stores only ciphertext, and the API still reads every attempt', async () => {
    const history = await rawHistory();
    const payload = attemptPayloads(history)[0]!;
    expect(Buffer.from(payload.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    expect(allBytes(history).includes(MARKER)).toBe(false);
    expect(allBytes(history).length).toBeGreaterThan(1000);

    const delivery = (await stack.call('GET', `/api/v1/deliveries/${deliveryId}`)).body.data;
    expect(delivery.attempts).toEqual([expect.objectContaining({ attempt: 1, response_status: 200, response_excerpt: MARKER })]);
  });

  it('then the codec endpoint decodes stored payloads for the local Web UI, and encode round-trips', async () => {
    const history = await rawHistory();
    const stored = attemptPayloads(history);
    const decoded = await stack.call('POST', '/codec/decode', { payloads: stored.map(asJson) }, { token: null, headers: { 'x-namespace': stack.config.TEMPORAL_NAMESPACE, origin: 'http://127.0.0.1:8233' } });
    expect(decoded.status).toBe(200);
    const result = JSON.parse(Buffer.from(decoded.body.payloads[0].data, 'base64').toString());
    expect(result).toMatchObject({ kind: 'attempted', attempt: 1, result: { outcome: 'succeeded', responseExcerpt: MARKER } });
    expect(Buffer.from(decoded.body.payloads[0].metadata.encoding, 'base64').toString()).toBe('json/plain');

    const encoded = await stack.call('POST', '/codec/encode', { payloads: decoded.body.payloads });
    expect(Buffer.from(encoded.body.payloads[0].metadata.encoding, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    const again = await stack.call('POST', '/codec/decode', encoded.body);
    expect(again.body.payloads).toEqual(decoded.body.payloads);
  });

  it('then the Web UI origin passes CORS, other origins do not', async () => {
    const preflight = await fetch(`${stack.url}/codec/decode`, { method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:8233', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-namespace');
    const other = await fetch(`${stack.url}/codec/decode`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('then bad credentials, a missing scope, another namespace, a tampered payload and bad JSON are refused in the envelope', async () => {
    const body = { payloads: [{ metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING).toString('base64') }, data: Buffer.alloc(40, 1).toString('base64') }] };
    expect((await stack.call('POST', '/codec/decode', body, { token: 'wrong' })).body).toMatchObject({ ok: false, err: 'unauthorized' });
    const { key } = await createApiKey(stack.db, null, { tenantId: 'default', name: 'codec-viewer', scopes: ['deliveries:read'], expiresAt: null });
    expect((await stack.call('POST', '/codec/encode', { payloads: [] }, { token: key })).body).toMatchObject({ ok: false, err: 'forbidden' });
    expect((await stack.call('POST', '/codec/decode', { payloads: [] }, { token: key })).body).toEqual({ payloads: [] });
    expect((await stack.call('POST', '/codec/decode', body, { headers: { 'x-namespace': 'other' } })).status).toBe(404);
    const tampered = await stack.call('POST', '/codec/decode', body);
    expect(tampered.status).toBe(422);
    expect(tampered.body).toMatchObject({ ok: false, err: 'codec_failed' });
    expect((await stack.call('POST', '/codec/decode', { payloads: [{ data: '%%%' }] })).status).toBe(422);
    expect((await stack.call('POST', '/codec/decode', undefined, { raw: '{"payloads":', headers: { 'content-type': 'application/json' } })).status).toBe(400);
  });
});

describe('when payload encryption is off, or the service runs in production', () => {
  it('then the codec endpoint answers 404 codec_disabled, and production needs a credential even on loopback', async () => {
    const strong = { API_TOKEN: '4e9b2f7a1c6d3085be27f4a9c1d6e3b8', MASTER_KEY: '9c4e1a7f3b5d2086ce41a9f7b3d5e2c8064af1b9d3e7c5a28f0b6d4c2e1a3f5b', TEMPORAL_CODEC_KEY: 'e17a4c9f2b6d08351fa7c4e9b2d6f0837c5a1e9b4f2d6c08a3e7b1f5d9c2a4e6' };
    const off = await startStack({ worker: false, env: { TEMPORAL_CODEC_KEY: '' } });
    const prod = await startStack({ worker: false, env: { NODE_ENV: 'production', ...strong } });
    try {
      expect((await off.call('POST', '/codec/decode', { payloads: [] })).body).toMatchObject({ ok: false, err: 'codec_disabled' });
      const fromUi = { token: null, headers: { origin: 'http://127.0.0.1:8233' } };
      expect((await prod.call('POST', '/codec/decode', { payloads: [] }, fromUi)).status).toBe(401);
      expect((await prod.call('POST', '/codec/decode', { payloads: [] }, { token: strong.API_TOKEN })).status).toBe(200);
    } finally {
      await off.stop();
      await prod.stop();
    }
  });
});

describe('when a request without a credential reaches the codec outside production', () => {
  const decode = (headers: Record<string, string>) =>
    request(`${stack.url}/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"payloads":[]}' }).then(async (res) => {
      await res.body.dump();
      return res.statusCode;
    });

  it('then only the local Web UI passes: a loopback Host and a listed Origin; no Origin, another Origin or another Host is refused', async () => {
    const host = new URL(stack.url).host;
    expect(await decode({ host, origin: 'http://127.0.0.1:8233' })).toBe(200);
    expect(await decode({ host: host.replace('127.0.0.1', 'localhost'), origin: 'http://localhost:8233' })).toBe(200);
    expect(await decode({ host })).toBe(401); // a script or the CLI: give a token
    expect(await decode({ host, origin: 'https://evil.example' })).toBe(401); // another page in the browser
    expect(await decode({ host: 'rebound.evil.example', origin: 'http://127.0.0.1:8233' })).toBe(401); // DNS rebinding
  });
});
