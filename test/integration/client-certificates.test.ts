import { Receiver } from '../helpers/receiver';
import { makeTestPki, type TestPki } from '../helpers/certificates';
import { eventually, historyText, startStack, stopAll, type Stack } from '../helpers/stack';

let stack: Stack;
let receiver: Receiver;
let pki: TestPki;
const logLines: string[] = [];

beforeAll(async () => {
  pki = makeTestPki();
  // A receiver that insists on a client certificate signed by the test CA.
  receiver = await Receiver.start({ tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca, requestCert: true, rejectUnauthorized: true } });
  stack = await startStack({ logLines, env: { LOG_LEVEL: 'debug' } });
});
afterAll(() => stopAll(stack, receiver));

const ONCE = { max_retries: 0 };
const keyBody = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');

async function deliverTo(body: Record<string, unknown>, path: string) {
  const type = `mtls.${path.slice(1)}`;
  const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: [type], retry_config: ONCE, ...body });
  expect(created.status).toBe(201);
  const sent = await stack.call('POST', '/api/v1/events', { type, payload: { n: 1 } });
  const deliveryId = sent.body.data.deliveries[0].id as string;
  const delivery = await eventually(async () => {
    const res = await stack.call('GET', `/api/v1/deliveries/${deliveryId}`);
    return ['succeeded', 'failed'].includes(res.body.data?.status) ? res.body.data : undefined;
  }, 30_000, `delivery ${deliveryId} to end`);
  return { endpoint: created.body.data, delivery };
}

describe('when an endpoint carries a client certificate and pins the receiver with a CA bundle', () => {
  it('then the delivery is made over mutual TLS, and the certificate is shown by its facts only', async () => {
    const { endpoint, delivery } = await deliverTo({ client_certificate: pki.client, ca_bundle: pki.ca }, '/mtls');
    expect(delivery.status).toBe('succeeded');
    const received = receiver.requests.filter((r) => r.path === '/mtls');
    expect(received).toHaveLength(1);
    expect(received[0]!.clientCN).toBe('webhook-client');

    expect(endpoint.tls).toEqual({
      client_certificate: { subject: 'CN=webhook-client', issuer: 'CN=ca', fingerprint_sha256: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/), expires_at: expect.any(String) },
      ca_bundle: true,
    });
    const shown = await stack.call('GET', `/api/v1/endpoints/${endpoint.id}`);
    const text = JSON.stringify(shown.body);
    expect(text).not.toContain(keyBody(pki.client.key));
    expect(text).not.toContain(keyBody(pki.client.cert));

    // Sealed at rest, never in the log or the workflow's history.
    const row = await stack.db('endpoints').where({ id: endpoint.id }).first('client_tls_sealed');
    expect(row.client_tls_sealed).toEqual(expect.any(String));
    expect(row.client_tls_sealed).not.toContain(keyBody(pki.client.key).slice(0, 40));
    expect(logLines.join('\n')).not.toContain(keyBody(pki.client.key).slice(0, 40));
    const history = await historyText(stack, `delivery-${delivery.event_id}-${endpoint.id}`);
    expect(history).not.toContain(keyBody(pki.client.key).slice(0, 40));
  });

  it('then the endpoint test request presents the certificate too', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/mtls-test', events: ['mtls.test'], client_certificate: pki.client, ca_bundle: pki.ca });
    const tested = await stack.call('POST', `/api/v1/endpoints/${created.body.data.id}/test`, {});
    expect(tested.body.data).toMatchObject({ status: 'succeeded', response_code: 200 });
    expect(receiver.requests.filter((r) => r.path === '/mtls-test').map((r) => r.clientCN)).toEqual(['webhook-client']);
  });
});

describe('when a piece of the TLS setup is missing or wrong', () => {
  it('then without a client certificate the receiver refuses the handshake and nothing is received', async () => {
    const { delivery } = await deliverTo({ ca_bundle: pki.ca }, '/no-cert');
    expect(delivery.status).toBe('failed');
    expect(['tls', 'connection_reset']).toContain(delivery.attempts[0].error_class);
    expect(receiver.requests.filter((r) => r.path === '/no-cert')).toHaveLength(0);
  });

  it('then with a CA bundle that did not sign the receiver, the receiver is not trusted (tls)', async () => {
    const { delivery } = await deliverTo({ client_certificate: pki.client, ca_bundle: pki.otherCa }, '/wrong-ca');
    expect(delivery.attempts[0]).toMatchObject({ outcome: 'retryable', error_class: 'tls' });
    expect(receiver.requests.filter((r) => r.path === '/wrong-ca')).toHaveLength(0);
  });

  it('then a key that does not match the certificate, or a CA bundle that is no certificate, is a 422 naming the field', async () => {
    const mismatched = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/x', events: ['mtls.bad'], client_certificate: { cert: pki.client.cert, key: pki.server.key } });
    expect(mismatched.status).toBe(422);
    expect(mismatched.body).toMatchObject({ ok: false, details: [{ path: 'body.client_certificate', message: 'key does not belong to cert' }] });
    expect(JSON.stringify(mismatched.body)).not.toContain(keyBody(pki.server.key).slice(0, 40));
    const garbage = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/x', events: ['mtls.bad'], ca_bundle: 'not a certificate' });
    expect(garbage.status).toBe(422);
    expect(garbage.body.details[0].path).toBe('body.ca_bundle');
  });

  it('then PATCH with null removes the certificate, and the next delivery goes without it', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/removed', events: ['mtls.removed'], client_certificate: pki.client, ca_bundle: pki.ca, retry_config: ONCE });
    const patched = await stack.call('PATCH', `/api/v1/endpoints/${created.body.data.id}`, { client_certificate: null });
    expect(patched.status).toBe(200);
    expect(patched.body.data.tls).toEqual({ client_certificate: null, ca_bundle: true });
    const sent = await stack.call('POST', '/api/v1/events', { type: 'mtls.removed', payload: { n: 2 } });
    const failed = await eventually(async () => {
      const res = await stack.call('GET', `/api/v1/deliveries/${sent.body.data.deliveries[0].id}`);
      return res.body.data?.status === 'failed' ? res.body.data : undefined;
    });
    expect(failed.attempts).toHaveLength(1);
    expect(receiver.requests.filter((r) => r.path === '/removed')).toHaveLength(0);
  });
});
