import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startStack, type Stack } from '../helpers/stack';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ worker: false });
});
afterAll(async () => stack?.stop());

const cli = (args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, NODE_ENV: 'test', DATABASE_URL: stack.config.DATABASE_URL, LOG_LEVEL: 'silent', MASTER_KEY: 'ab'.repeat(32) },
  });

describe('when the CLI makes an API key', () => {
  it('then the key it prints once works against the API with its role', async () => {
    const { stdout } = await cli(['api-keys', 'create', '--name', 'from-cli', '--role', 'viewer']);
    const key = stdout.trim().split('\n').at(-1)!;
    expect(key).toMatch(/^whk_/);
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: key })).status).toBe(200);
    expect((await stack.call('POST', '/api/v1/api-keys', { name: 'x', role: 'viewer' }, { token: key })).status).toBe(403);
  });

  it('then bad arguments exit 2 with the usage', async () => {
    await expect(cli(['api-keys', 'create', '--name', 'x', '--role', 'boss'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('usage:') });
  });
});

describe('when the CLI makes a platform key', () => {
  it('then the key it prints once manages tenants and nothing inside one', async () => {
    const { stdout } = await cli(['platform-keys', 'create', '--name', 'ops', '--scopes', 'tenants:read']);
    const key = stdout.trim().split('\n').at(-1)!;
    expect(key).toMatch(/^whp_/);
    expect((await stack.call('GET', '/api/v1/tenants', undefined, { token: key })).status).toBe(200);
    expect((await stack.call('GET', '/api/v1/endpoints', undefined, { token: key })).status).toBe(403);
    await expect(cli(['platform-keys', 'create', '--name', 'x', '--scopes', 'endpoints:read'])).rejects.toMatchObject({ code: 2 });
  });
});

describe('when the CLI sends an inbound webhook', () => {
  it('then it is signed exactly as the guard expects', async () => {
    const source = (await stack.call('POST', '/api/v1/sources', { name: 'cli', allowed_handlers: ['echo'], default_handler: 'echo' })).body.data;
    const { stdout } = await cli(['inbound', 'send', '--url', `${stack.url}/webhook/in`, '--source', source.id, '--secret', source.secret, '--data', '{"from":"cli"}']);
    expect(stdout.split('\n')[0]).toBe('200');
    expect(JSON.parse(stdout.slice(stdout.indexOf('\n')))).toMatchObject({ ok: true, data: { source_id: source.id, body: { from: 'cli' } } });
  });
});
