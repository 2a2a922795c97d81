import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_KEYS, ConfigError, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('when the environment is empty, then defaults apply and the result is frozen', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 3000, TEMPORAL_NAMESPACE: 'default', TEMPORAL_TASK_QUEUE: 'webhooks' });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('when a value is invalid, then the error names the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ TEMPORAL_TLS: 'maybe' })).toThrow(/TEMPORAL_TLS/);
  });

  it('when running in production, then API_TOKEN and MASTER_KEY are required', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/API_TOKEN/);
    expect(() => loadConfig({ NODE_ENV: 'production', API_TOKEN: 't' })).toThrow(/MASTER_KEY/);
    expect(loadConfig({ NODE_ENV: 'production', API_TOKEN: 't', MASTER_KEY: 'aa'.repeat(32) }).NODE_ENV).toBe('production');
  });

  it('when PLATFORM_API_TOKEN is short or equals API_TOKEN, then it is refused', () => {
    const token = 'p'.repeat(32);
    expect(() => loadConfig({ PLATFORM_API_TOKEN: 'short' })).toThrow(/PLATFORM_API_TOKEN must be at least 32/);
    expect(() => loadConfig({ PLATFORM_API_TOKEN: token, API_TOKEN: token })).toThrow(/PLATFORM_API_TOKEN must differ from API_TOKEN/);
    expect(loadConfig({ PLATFORM_API_TOKEN: token, API_TOKEN: 'other' }).PLATFORM_API_TOKEN).toBe(token);
  });

  it('when optional strings are blank, then they count as unset', () => {
    expect(loadConfig({ DATABASE_URL: '  ', TEMPORAL_ADDRESS: '' })).toMatchObject({ DATABASE_URL: undefined, TEMPORAL_ADDRESS: undefined });
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
