import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT, type Config } from './config';
import type { Logger } from './logger';
import { parseMasterKey } from './security/secret-box';

/** Folder of local-only state: the dev API token, the dev master key, the embedded databases. */
export const DATA_DIR = path.join(PROJECT_ROOT, '.data');
export const DEV_TOKEN_FILE = path.join(DATA_DIR, 'dev-api-token');
const DEV_MASTER_KEY_FILE = path.join(DATA_DIR, 'dev-master-key');

function readOrCreate(file: string, make: () => string): { value: string; created: boolean } {
  if (existsSync(file)) return { value: readFileSync(file, 'utf8').trim(), created: false };
  mkdirSync(path.dirname(file), { recursive: true });
  const value = make();
  writeFileSync(file, value + '\n', { mode: 0o600 });
  return { value, created: true };
}

/**
 * The API bearer token: API_TOKEN, or outside production a random token kept in
 * `.data/dev-api-token` so a local setup works with no configuration.
 */
export function resolveApiToken(config: Config, log: Logger): string {
  if (config.API_TOKEN) return config.API_TOKEN;
  const { value, created } = readOrCreate(DEV_TOKEN_FILE, () => randomBytes(24).toString('base64url'));
  log.warn({ file: DEV_TOKEN_FILE, created }, 'API_TOKEN unset: using the local dev token from this file');
  return value;
}

/** The master key: MASTER_KEY, or outside production a random key kept in `.data/dev-master-key`. */
export function resolveMasterKey(config: Config, log: Logger): Buffer {
  if (config.MASTER_KEY) return parseMasterKey(config.MASTER_KEY);
  const { value, created } = readOrCreate(DEV_MASTER_KEY_FILE, () => randomBytes(32).toString('base64'));
  log.warn({ file: DEV_MASTER_KEY_FILE, created }, 'MASTER_KEY unset: using the local dev master key from this file');
  return parseMasterKey(value);
}
