import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
let jwks: http.Server;
let privateKey: KeyLike;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwks = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
  stack = await startStack({ worker: false, env: { JWT_JWKS_URL: url, JWT_AUDIENCE: 'webhooks' } });
});
afterAll(async () => {
  await stack?.stop();
  jwks?.close();
});

const sign = (key: KeyLike, claims: Record<string, unknown>, audience = 'webhooks') =>
  new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setAudience(audience).setSubject('svc').setExpirationTime('5m').sign(key);

describe('when JWTs are verified against a JWKS URL', () => {
  it('then a token signed by a published key works, with its role', async () => {
    const token = await sign(privateKey, { tenant_id: 'default', role: 'viewer' });
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token })).status).toBe(200);
    expect((await stack.call('POST', '/api/v1/events', { type: 'a.b', payload: {} }, { token })).status).toBe(403);
  });

  it('then a token signed by another key, or for another audience, gets 401', async () => {
    const stranger = (await generateKeyPair('RS256')).privateKey;
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: await sign(stranger, { tenant_id: 'default', role: 'admin' }) })).status).toBe(401);
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: await sign(privateKey, { tenant_id: 'default', role: 'admin' }, 'other') })).status).toBe(401);
  });
});
