import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_KEYS, ConfigError, loadConfig, startRelayUrls } from '../../src/config';
import { egressPolicy } from '../../src/security/egress';
import v8 from 'node:v8';
import { DefaultLogger } from '@temporalio/worker';
import { noopMetricMeter } from '@temporalio/common/lib/metrics';
import { compileWorkerOptions } from '@temporalio/worker/lib/worker-options';
import { sandboxOptions, sandboxTimeoutMs } from '../../src/temporal/lean-worker';
import { cachedWorkflows, sdkDefaultCachedWorkflows, workerCapacity } from '../../src/temporal/worker-capacity';

/** What `openssl rand -hex 32` gives: secrets production accepts. */
const STRONG_TOKEN = '3f9a1c7e5b2d8046af13ce97b5d20e8c4a6f1b3d9e7c5a2f8b0d4e6c1a3f5b7d';
const STRONG_KEY = '9c4e1a7f3b5d2086ce41a9f7b3d5e2c8064af1b9d3e7c5a28f0b6d4c2e1a3f5b';
const OTHER_KEY = 'e17a4c9f2b6d08351fa7c4e9b2d6f0837c5a1e9b4f2d6c08a3e7b1f5d9c2a4e6';
const prod = (env: Record<string, string> = {}) => loadConfig({ NODE_ENV: 'production', API_TOKEN: STRONG_TOKEN, MASTER_KEY: STRONG_KEY, ...env });

describe('loadConfig', () => {
  it('when the environment is empty but for development, then defaults apply and the result is frozen', () => {
    const config = loadConfig({ NODE_ENV: 'development' });
    expect(config).toMatchObject({ PORT: 3000, TEMPORAL_NAMESPACE: 'default', TEMPORAL_TASK_QUEUE: 'webhooks' });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('when a value is invalid, then the error names the variable', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'test', PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ NODE_ENV: 'test', TEMPORAL_TLS: 'maybe' })).toThrow(/TEMPORAL_TLS/);
    expect(() => loadConfig({ NODE_ENV: 'test', MASTER_KEY: 'not-a-key' })).toThrow(/MASTER_KEY/);
  });

  it('when worker polls are not set, then most wait on the task queue, where a new delivery’s first task comes from', () => {
    expect(workerCapacity(loadConfig({ NODE_ENV: 'test' }))).toMatchObject({
      workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 10 },
      nonStickyToStickyPollRatio: 0.8,
    });
    expect(workerCapacity(loadConfig({ NODE_ENV: 'test', WORKER_WORKFLOW_TASK_POLLERS: '4', WORKER_NONSTICKY_POLL_RATIO: '0.5' }))).toMatchObject({
      workflowTaskPollerBehavior: { maximum: 4 },
      nonStickyToStickyPollRatio: 0.5,
    });
    expect(() => loadConfig({ NODE_ENV: 'test', WORKER_NONSTICKY_POLL_RATIO: '0' })).toThrow(/WORKER_NONSTICKY_POLL_RATIO/);
    // Every poll on the task queue would leave the sticky queue unpolled.
    expect(() => loadConfig({ NODE_ENV: 'test', WORKER_NONSTICKY_POLL_RATIO: '1' })).toThrow(/WORKER_NONSTICKY_POLL_RATIO/);
    expect(() => loadConfig({ NODE_ENV: 'test', WORKER_WORKFLOW_TASK_POLLERS: '1' })).toThrow(/WORKER_WORKFLOW_TASK_POLLERS/);
  });

  it('when the heap is small, then the workflow cache still holds a workflow per workflow-task slot', () => {
    const config = loadConfig({ NODE_ENV: 'test' });
    // The SDK's own rule gives 32 for a 256 MiB heap, which would hold 32 tasks in progress, not 100.
    expect(sdkDefaultCachedWorkflows(256)).toBe(32);
    expect(cachedWorkflows(config, 256)).toBe(100);
    expect(cachedWorkflows(config, 4096)).toBe(sdkDefaultCachedWorkflows(4096));
    expect(cachedWorkflows(loadConfig({ NODE_ENV: 'test', WORKER_MAX_CACHED_WORKFLOWS: '20' }), 4096)).toBe(20);
    expect(workerCapacity(config, undefined, 256).maxCachedWorkflows).toBe(100);
  });

  it('when the activation timeout is not set, then workflow activations have no bound (no watchdog thread per sandbox call)', () => {
    expect(sandboxOptions(loadConfig({ NODE_ENV: 'test' }))).toEqual({ isolateExecutionTimeout: 0, debugMode: false });
    expect(sandboxTimeoutMs(0)).toBeUndefined();
    expect(sandboxOptions(loadConfig({ NODE_ENV: 'test', WORKER_ACTIVATION_TIMEOUT_MS: '5000' }))).toEqual({ isolateExecutionTimeout: 5000, debugMode: false });
    expect(sandboxTimeoutMs(5000)).toBe(5000);
    expect(() => loadConfig({ NODE_ENV: 'test', WORKER_ACTIVATION_TIMEOUT_MS: '-1' })).toThrow(/WORKER_ACTIVATION_TIMEOUT_MS/);
  });

  it('when the workflow thread is not set, then the sandbox runs on a worker thread; main puts it on the main thread (the SDK\'s debugMode)', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).WORKER_WORKFLOW_THREAD).toBe('separate');
    expect(sandboxOptions(loadConfig({ NODE_ENV: 'test', WORKER_WORKFLOW_THREAD: 'main' })).debugMode).toBe(true);
    expect(() => loadConfig({ NODE_ENV: 'test', WORKER_WORKFLOW_THREAD: 'other' })).toThrow(/WORKER_WORKFLOW_THREAD/);
  });

  it('when the heap growth is not set, then V8 decides; a worker may set 1 to 100 percent', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).WORKER_HEAP_GROWING_PERCENT).toBe(0);
    expect(loadConfig({ NODE_ENV: 'test', WORKER_HEAP_GROWING_PERCENT: '20' }).WORKER_HEAP_GROWING_PERCENT).toBe(20);
    for (const bad of ['-1', '101', '12.5', 'lots']) expect(() => loadConfig({ NODE_ENV: 'test', WORKER_HEAP_GROWING_PERCENT: bad })).toThrow(/WORKER_HEAP_GROWING_PERCENT/);
  });

  it('when the SDK picks its own cache size, then it is the size sdkDefaultCachedWorkflows says', () => {
    const compiled = compileWorkerOptions({ taskQueue: 'q', workflowBundle: { code: '' } }, new DefaultLogger('ERROR'), noopMetricMeter);
    expect(compiled.maxCachedWorkflows).toBe(sdkDefaultCachedWorkflows(v8.getHeapStatistics().heap_size_limit / 1024 / 1024));
  });

  it('when running in production, then API_TOKEN and MASTER_KEY are required', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/API_TOKEN/);
    expect(() => loadConfig({ NODE_ENV: 'production', API_TOKEN: STRONG_TOKEN })).toThrow(/MASTER_KEY/);
    expect(prod().NODE_ENV).toBe('production');
  });

  it('when NODE_ENV is unset, then it is production: secrets are required and private destinations refused', () => {
    expect(() => loadConfig({})).toThrow(/API_TOKEN is required when NODE_ENV=production/);
    const config = loadConfig({ API_TOKEN: STRONG_TOKEN, MASTER_KEY: STRONG_KEY });
    expect(config.NODE_ENV).toBe('production');
    expect(egressPolicy(config).allowPrivate).toBe(false);
    expect(egressPolicy(loadConfig({ API_TOKEN: STRONG_TOKEN, MASTER_KEY: STRONG_KEY, EGRESS_ALLOW_PRIVATE: 'true' })).allowPrivate).toBe(true);
    expect(loadConfig({}, { NODE_ENV: 'development' }).NODE_ENV).toBe('development'); // npm start's own default
    expect(egressPolicy(loadConfig({ NODE_ENV: 'test' })).allowPrivate).toBe(true);
  });

  it.each([
    ['a compose placeholder token', { API_TOKEN: 'change-me-api-token' }, /API_TOKEN is a placeholder/],
    ['a short token', { API_TOKEN: 'Zq3k9Lm2Xv7' }, /API_TOKEN is shorter than 32 characters/],
    ['a long but repetitive token', { API_TOKEN: 'ab'.repeat(20) }, /API_TOKEN has too few distinct characters/],
    ['an all-zero master key', { MASTER_KEY: '0'.repeat(64) }, /MASTER_KEY is all zeros/],
    ['a patterned master key', { MASTER_KEY: '0123456789abcdef'.repeat(4) }, /MASTER_KEY has too little entropy/],
    ['a placeholder previous master key', { MASTER_KEY_PREVIOUS: `${OTHER_KEY},${'6b'.repeat(32)}` }, /MASTER_KEY_PREVIOUS has too little entropy/],
    ['an all-zero codec key', { TEMPORAL_CODEC_KEY: '0'.repeat(64) }, /TEMPORAL_CODEC_KEY is all zeros/],
    ['a weak previous codec key', { TEMPORAL_CODEC_PREVIOUS_KEYS: '3c'.repeat(32) }, /TEMPORAL_CODEC_PREVIOUS_KEYS has too little entropy/],
    ['a short metrics token', { METRICS_TOKEN: 'scrape-me' }, /METRICS_TOKEN is shorter/],
    ['a short start-relay token', { WORKER_START_PORT: '9465', WORKER_START_TOKEN: 'relay-me' }, /WORKER_START_TOKEN is shorter/],
    ['a placeholder JWT secret', { JWT_SECRET: 'change-me-change-me-change-me-change-me' }, /JWT_SECRET is a placeholder/],
  ])('when production gets %s, then it refuses to start naming the variable, never its value', (_name, env, message) => {
    let error: Error | null = null;
    try {
      prod(env as Record<string, string>);
    } catch (err) {
      error = err as Error;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toMatch(message);
    for (const value of Object.values(env as Record<string, string>)) for (const part of value.split(',')) expect(error!.message).not.toContain(part);
  });

  it('when production gets generated secrets, then it starts', () => {
    expect(prod({ MASTER_KEY_PREVIOUS: OTHER_KEY, TEMPORAL_CODEC_KEY: OTHER_KEY, METRICS_TOKEN: STRONG_TOKEN.split('').reverse().join('') }).NODE_ENV).toBe('production');
    // The same keys as base64 too.
    expect(prod({ MASTER_KEY: Buffer.from(STRONG_KEY, 'hex').toString('base64') }).MASTER_KEY).toBeDefined();
  });

  it('when JWT_JWKS_URL is set without JWT_AUDIENCE, then the configuration is refused', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', JWT_JWKS_URL: 'https://idp.example.com/jwks' })).toThrow(/JWT_AUDIENCE is required with JWT_JWKS_URL/);
    expect(loadConfig({ NODE_ENV: 'test', JWT_JWKS_URL: 'https://idp.example.com/jwks', JWT_AUDIENCE: 'webhooks' }).JWT_AUDIENCE).toBe('webhooks');
  });

  it('when PLATFORM_API_TOKEN is short or equals API_TOKEN, then it is refused', () => {
    const token = 'p'.repeat(32);
    expect(() => loadConfig({ NODE_ENV: 'test', PLATFORM_API_TOKEN: 'short' })).toThrow(/PLATFORM_API_TOKEN must be at least 32/);
    expect(() => loadConfig({ NODE_ENV: 'test', PLATFORM_API_TOKEN: token, API_TOKEN: token })).toThrow(/PLATFORM_API_TOKEN must differ from API_TOKEN/);
    expect(loadConfig({ NODE_ENV: 'test', PLATFORM_API_TOKEN: token, API_TOKEN: 'other' }).PLATFORM_API_TOKEN).toBe(token);
  });

  it('when a start relay is set up without its token or with a URL that is not an origin, then it is refused', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', WORKER_START_PORT: '9465' })).toThrow(/WORKER_START_PORT needs WORKER_START_TOKEN/);
    expect(() => loadConfig({ NODE_ENV: 'test', WORKER_START_URLS: 'http://worker:9465' })).toThrow(/WORKER_START_URLS needs WORKER_START_TOKEN/);
    const token = { WORKER_START_TOKEN: STRONG_TOKEN };
    expect(() => loadConfig({ NODE_ENV: 'test', ...token, WORKER_START_URLS: 'worker:9465' })).toThrow(/WORKER_START_URLS: "worker:9465" is not an http\(s\) origin/);
    expect(() => loadConfig({ NODE_ENV: 'test', ...token, WORKER_START_URLS: 'http://worker:9465/v1/delivery-starts' })).toThrow(/is not an http\(s\) origin/);
    const config = loadConfig({ NODE_ENV: 'test', ...token, WORKER_START_URLS: ' http://worker-1:9465/, http://worker-2:9465 ,' });
    expect(startRelayUrls(config)).toEqual(['http://worker-1:9465', 'http://worker-2:9465']);
    expect(config.WORKER_START_TIMEOUT_MS).toBe(5_000);
  });

  it('when optional strings are blank, then they count as unset', () => {
    expect(loadConfig({ NODE_ENV: 'test', DATABASE_URL: '  ', TEMPORAL_ADDRESS: '' })).toMatchObject({ DATABASE_URL: undefined, TEMPORAL_ADDRESS: undefined });
  });
});

describe('when a setting exists', () => {
  it('then .env.example and the README configuration table both document it', () => {
    const root = path.resolve(__dirname, '../..');
    const example = readFileSync(path.join(root, '.env.example'), 'utf8');
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(CONFIG_KEYS.length).toBeGreaterThan(30);
    expect(CONFIG_KEYS.filter((key) => !new RegExp(`^#? ?${key}=`, 'm').test(example))).toEqual([]);
    expect(CONFIG_KEYS.filter((key) => !readme.includes(`\`${key}\``))).toEqual([]);
  });
});
