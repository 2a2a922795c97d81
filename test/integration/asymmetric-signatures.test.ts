import { createPublicKey, verify as edVerify, type KeyObject } from 'node:crypto';
import { verify } from '../../src/security/verify';
import { Receiver, type ReceivedRequest } from '../helpers/receiver';
import { eventually, historyText, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

let stack: Stack;
let receiver: Receiver;

beforeAll(async () => ({ stack, receiver } = await startStackWithReceiver()));
afterAll(() => stopAll(stack, receiver));

const SCHEME = 'standard-webhooks-v1a';

/** A `whpk_` public key as node:crypto takes it, written here apart from the project's code (RFC 8410 SPKI). */
function nodePublicKey(whpk: string): KeyObject {
  const raw = Buffer.from(whpk.slice('whpk_'.length), 'base64');
  expect(raw).toHaveLength(32);
  return createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
}

/** Which of `publicKeys` verify one of the request's `v1a,` signatures over `${id}.${ts}.${body}`. */
function verifiedBy(request: ReceivedRequest, publicKeys: string[]): boolean[] {
  const h = request.headers as Record<string, string>;
  const content = Buffer.from(`${h['webhook-id']}.${h['webhook-timestamp']}.${request.body}`);
  const signatures = h['webhook-signature']!.split(' ').map((s) => {
    expect(s.startsWith('v1a,')).toBe(true);
    return Buffer.from(s.slice(4), 'base64');
  });
  return publicKeys.map((pk) => signatures.some((sig) => edVerify(null, content, nodePublicKey(pk), sig)));
}

async function deliver(endpointId: string, type: string, path: string): Promise<{ request: ReceivedRequest; deliveryId: string }> {
  const before = receiver.requests.filter((r) => r.path === path).length;
  const sent = await stack.call('POST', '/api/v1/events', { type, payload: { order_id: 9, note: 'héllo ✓' } });
  expect(sent.status).toBe(202);
  const deliveryId = (sent.body.data.deliveries as Array<{ id: string; endpoint_id: string }>).find((d) => d.endpoint_id === endpointId)!.id;
  const requests = await receiver.waitForRequests(before + 1, 30_000, path);
  return { request: requests[before]!, deliveryId };
}

describe('when an endpoint uses the standard-webhooks-v1a scheme', () => {
  const type = 'asym.created';
  const path = '/v1a';
  let endpoint: { id: string; secret: string; public_key: string; key_id: string };

  it('then it is created with a whsk_ secret and its whpk_ public key, and GET public-key lists that key', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: [type], scheme: SCHEME });
    expect(created.status).toBe(201);
    endpoint = created.body.data;
    expect(endpoint.secret).toMatch(/^whsk_[A-Za-z0-9+/]{43}=$/);
    expect(endpoint.public_key).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    const keys = await stack.call('GET', `/api/v1/endpoints/${endpoint.id}/public-key`);
    expect(keys.status).toBe(200);
    expect(keys.body.data).toMatchObject({ endpoint_id: endpoint.id, scheme: SCHEME, keys: [{ key_id: endpoint.key_id, public_key: endpoint.public_key, state: 'active' }] });
    expect(JSON.stringify(keys.body)).not.toContain(endpoint.secret.slice(5));
  });

  it('then node:crypto verifies the delivery with the public key alone, and so does verify()', async () => {
    const { request, deliveryId } = await deliver(endpoint.id, type, path);
    const h = request.headers as Record<string, string>;
    expect(h['webhook-id']).toBe(deliveryId);
    expect(h['webhook-signature']).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(verifiedBy(request, [endpoint.public_key])).toEqual([true]);
    expect(verify(SCHEME, h, request.body, [endpoint.public_key]).index).toBe(0);
    // A different body does not verify.
    expect(() => verify(SCHEME, h, request.body + ' ', [endpoint.public_key])).toThrow(/no signature matches/);
    await eventually(async () => ((await stack.call('GET', `/api/v1/deliveries/${deliveryId}`)).body.data.status === 'succeeded' ? true : undefined));
    const history = await historyText(stack, `delivery-${(await stack.call('GET', `/api/v1/deliveries/${deliveryId}`)).body.data.event_id}-${endpoint.id}`);
    expect(history).not.toContain(endpoint.secret.slice(5));
  });

  it('then a rotation with grace signs with both keys, GET public-key lists both, and after grace only the new one signs', async () => {
    const rotated = await stack.call('POST', `/api/v1/endpoints/${endpoint.id}/secret/rotate`, { grace_seconds: 5 });
    expect(rotated.status).toBe(202);
    const newKeyId = rotated.body.data.new_key_id as string;
    const both = await eventually(async () => {
      const res = await stack.call('GET', `/api/v1/endpoints/${endpoint.id}/public-key`);
      return res.body.data.keys.length === 2 ? (res.body.data.keys as Array<{ key_id: string; public_key: string; state: string }>) : undefined;
    });
    expect(both.map((k) => [k.key_id, k.state])).toEqual([[newKeyId, 'active'], [endpoint.key_id, 'grace']]);
    expect(both[1]!.public_key).toBe(endpoint.public_key);
    const newPublic = both[0]!.public_key;
    expect(newPublic).not.toBe(endpoint.public_key);

    const during = await deliver(endpoint.id, type, path);
    expect((during.request.headers['webhook-signature'] as string).split(' ')).toHaveLength(2);
    expect(verifiedBy(during.request, [newPublic, endpoint.public_key])).toEqual([true, true]);

    await stack.temporal.workflow.getHandle(rotated.body.data.workflow_id).result();
    const after = await deliver(endpoint.id, type, path);
    expect(verifiedBy(after.request, [newPublic, endpoint.public_key])).toEqual([true, false]);
    const listed = await stack.call('GET', `/api/v1/endpoints/${endpoint.id}/public-key`);
    expect(listed.body.data.keys.map((k: { key_id: string }) => k.key_id)).toEqual([newKeyId]);
  });

  it('then its scheme cannot switch to an HMAC scheme (409), and an HMAC endpoint has no public key (409)', async () => {
    const patched = await stack.call('PATCH', `/api/v1/endpoints/${endpoint.id}`, { scheme: 'standard-webhooks' });
    expect(patched.status).toBe(409);
    expect(patched.body).toMatchObject({ ok: false, err: 'scheme_key_mismatch' });
    const hmac = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/hmac', events: ['asym.none'], scheme: 'standard-webhooks' });
    expect(hmac.body.data.public_key).toBeUndefined();
    const none = await stack.call('GET', `/api/v1/endpoints/${hmac.body.data.id}/public-key`);
    expect(none.status).toBe(409);
    expect(none.body).toMatchObject({ ok: false, err: 'no_public_key' });
  });

  it('then a given secret must be of the scheme’s kind (422 on body.secret)', async () => {
    const hmacSecret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const wrong = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: [type], scheme: SCHEME, secret: hmacSecret });
    expect(wrong.status).toBe(422);
    expect(wrong.body.details.map((d: { path: string }) => d.path)).toContain('body.secret');
    const given = `whsk_${Buffer.alloc(32, 9).toString('base64')}`;
    const ok = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: ['asym.given'], scheme: SCHEME, secret: given });
    expect(ok.status).toBe(201);
    expect(ok.body.data.public_key).toMatch(/^whpk_/);
  });
});
