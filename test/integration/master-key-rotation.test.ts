import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import knexFactory from 'knex';
import { migrate } from '../../src/db/knex';
import { sendInbound } from '../../src/inbound/sender';
import { masterKeyId, parseMasterKey } from '../../src/security/secret-box';
import { verify } from '../../src/security/verify';
import { createOwnDatabase, type OwnDatabase } from '../helpers/own-database';
import { Receiver } from '../helpers/receiver';
import { eventually, startStack, TEST_MASTER_KEY, type Stack } from '../helpers/stack';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const NEW_KEY = '9c4e1a7f3b5d2086ce41a9f7b3d5e2c8064af1b9d3e7c5a28f0b6d4c2e1a3f5b';
const TOKEN = 'q7Wm2Xk9Rt4Lp8Zs3Vn6Yb1Hc5';

let dbUrl: string;
let receiver: Receiver;
let own: OwnDatabase;

/** A database of its own: re-sealing must not move the other test files' secrets to another key. */
beforeAll(async () => {
  own = await createOwnDatabase('reseal');
  dbUrl = own.url;
  const db = knexFactory({ client: 'pg', connection: dbUrl });
  await migrate(db, 'default').finally(() => db.destroy());
  receiver = await Receiver.start();
});
afterAll(async () => {
  await receiver?.close();
  await own?.drop();
});

const reseal = (args: string[] = []) =>
  run(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', 'keys', 'reseal', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: dbUrl, MASTER_KEY: NEW_KEY, MASTER_KEY_PREVIOUS: TEST_MASTER_KEY },
  });

describe('when MASTER_KEY is rotated and every secret re-sealed', () => {
  it('then nothing at rest is under the old key, a second run changes nothing, and the service works on the new key alone', async () => {
    let stack: Stack = await startStack({ worker: false, env: { DATABASE_URL: dbUrl } });
    const path1 = `/hooks/${TOKEN}`;
    const endpoint = (
      await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + path1, events: ['rotate.me'], headers: { 'X-Api-Key': { value: 'header-secret-123456', sensitive: true } } })
    ).body.data;
    const source = (await stack.call('POST', '/api/v1/sources', { name: 'rotating', allowed_handlers: ['echo'], default_handler: 'echo' })).body.data;
    // Saved before URLs were sealed: a secret URL in clear.
    const legacy = (await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/plain', events: ['rotate.legacy'] })).body.data;
    await stack.db('endpoints').where({ id: legacy.id }).update({ url: 'https://example.com/in?token=legacy-clear-token' });
    await stack.stop();

    const first = await reseal(['--batch', '1']);
    expect(first.stdout).toContain(`master key ${masterKeyId(parseMasterKey(NEW_KEY))}: 3 signing keys and 2 endpoints re-sealed (1 secret URLs stored in clear now sealed)`);
    const second = await reseal();
    expect(second.stdout).toContain('0 signing keys and 0 endpoints re-sealed');

    stack = await startStack({ env: { DATABASE_URL: dbUrl, MASTER_KEY: NEW_KEY } }); // no MASTER_KEY_PREVIOUS
    try {
      const oldId = masterKeyId(parseMasterKey(TEST_MASTER_KEY));
      const keys = await stack.db('signing_keys').select('master_key_id', 'ciphertext');
      expect(keys.every((k) => k.master_key_id !== oldId && !k.ciphertext.startsWith(oldId))).toBe(true);
      const rows = await stack.db('endpoints').select('url', 'url_sealed', 'headers');
      expect(JSON.stringify(rows)).not.toContain(oldId + '.');
      expect(JSON.stringify(rows)).not.toContain('legacy-clear-token');

      await stack.call('POST', '/api/v1/events', { type: 'rotate.me', payload: { n: 1 } });
      const [request] = await receiver.waitForRequests(1, 30_000, path1);
      expect(request!.headers['x-api-key']).toBe('header-secret-123456');
      expect(() => verify('x-signature', request!.headers as Record<string, string>, request!.body, [endpoint.secret])).not.toThrow();
      const inbound = await sendInbound({ url: `${stack.url}/webhook/in`, sourceId: source.id, secret: source.secret, body: '{"after":"rotation"}' });
      expect(inbound.status).toBe(200);
      await eventually(async () => ((await stack.call('GET', `/api/v1/endpoints/${legacy.id}`)).body.data.url_sensitive ? true : undefined), 5000, 'the legacy URL to be sealed');
    } finally {
      await stack.stop();
    }
  });
});
