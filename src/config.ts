import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseAllowlist } from './security/egress';
import { parseMasterKey } from './security/secret-box';
import { weakKeyReason, weakTokenReason } from './security/secret-strength';

/**
 * Root of the project checkout (the nearest folder up with a package.json); data and tool folders
 * live under it. Found, not fixed, because the code also runs compiled from `dist/src`.
 */
export const PROJECT_ROOT = projectRoot(path.resolve(__dirname, '..'));

function projectRoot(dir: string): string {
  for (let at = dir; ; at = path.dirname(at)) {
    if (existsSync(path.join(at, 'package.json'))) return at;
    if (path.dirname(at) === at) return dir;
  }
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const port = z.coerce.number().int().min(0).max(65535);

/**
 * Every setting the service reads, with its default. `.env.example` documents the same list;
 * no other module reads `process.env`.
 */
const schema = z.object({
  /** Unset counts as production: safe defaults unless development or test is asked for. */
  NODE_ENV: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.enum(['development', 'production', 'test']).optional()),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  HOST: z.string().default('127.0.0.1'),
  PORT: port.default(3000),
  API_TOKEN: optionalString,
  /** Unset: the platform API (`/tenants`, `/platform`) takes `whp_…` platform keys only. */
  PLATFORM_API_TOKEN: optionalString,
  DEFAULT_TENANT_ID: z.string().regex(/^[a-z0-9_-]{1,64}$/).default('default'),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(256 * 1024),

  DATABASE_URL: optionalString,
  PGLITE_DIR: z.string().default(path.join(PROJECT_ROOT, '.data', 'pglite')),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  /**
   * The delivery path's statements as named prepared statements (parsed and planned once per
   * connection). Off only behind a pooler that cannot keep them (PgBouncer in transaction mode
   * before 1.21, or without `max_prepared_statements`).
   */
  DATABASE_PREPARED_STATEMENTS: bool.default(true),

  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().default('default'),
  /** Days closed workflows (delivery histories) are kept in the namespace the project creates (the dev server). */
  TEMPORAL_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  TEMPORAL_TASK_QUEUE: z.string().default('webhooks'),
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS: bool.default(false),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_DEV_DB: z.string().default(path.join(PROJECT_ROOT, '.data', 'temporal.sqlite')),
  /** `npm run cluster`: the Postgres server (an admin URL) that holds the cluster's databases. */
  TEMPORAL_CLUSTER_POSTGRES_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/postgres'),
  /** Main database of the cluster; visibility goes to `<name>_visibility`. */
  TEMPORAL_CLUSTER_DATABASE: z.string().regex(/^[a-z_][a-z0-9_]{0,40}$/).default('temporal'),
  /** History shards, fixed when the databases are created. */
  TEMPORAL_CLUSTER_SHARDS: z.coerce.number().int().min(1).max(16384).default(4),
  TEMPORAL_CLUSTER_PORT: port.default(7233),
  /** Retention of closed workflows in the cluster's namespace, days. */

  MASTER_KEY: optionalString,
  /** Earlier master keys, comma-separated: secrets sealed under them still open (found by key id). */
  MASTER_KEY_PREVIOUS: optionalString,
  /** Set: every payload in Temporal history is encrypted with it (AES-256-GCM). */
  TEMPORAL_CODEC_KEY: optionalString,
  /** Earlier codec keys, comma-separated: they still decrypt history written before a rotation. */
  TEMPORAL_CODEC_PREVIOUS_KEYS: optionalString,
  /** Browser origins allowed to call the codec endpoint (the Temporal Web UI); default: the local UI. */
  TEMPORAL_CODEC_CORS_ORIGINS: optionalString,

  JWT_SECRET: optionalString,
  JWT_JWKS_URL: optionalString,
  JWT_ISSUER: optionalString,
  JWT_AUDIENCE: optionalString,
  INTROSPECTION_URL: optionalString,
  INTROSPECTION_CLIENT_ID: optionalString,
  INTROSPECTION_CLIENT_SECRET: optionalString,
  INTROSPECTION_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  /** Calls to the introspection endpoint per second, at most (unknown tokens are what floods it). */
  INTROSPECTION_MAX_PER_SECOND: z.coerce.number().int().min(1).max(10_000).default(20),
  /** Set: `/metrics` (the API's and a worker's own) needs `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: optionalString,

  /** Origin portal links point at (`https://hooks.example.com`); unset: the origin the link request came to. */
  PORTAL_PUBLIC_URL: optionalString.refine((v) => v === undefined || /^https?:\/\/[^/?#\s]+\/?$/.test(v), 'must be an http(s) origin such as https://hooks.example.com'),
  /** CSP frame-ancestors sources allowed to embed the portal (space-separated); unset: none. */
  PORTAL_FRAME_ANCESTORS: optionalString.refine((v) => v === undefined || /^[\w\s:/.*'-]+$/.test(v), 'space-separated CSP sources (https://app.example.com, \'self\')'),

  DELIVERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
  RESPONSE_EXCERPT_BYTES: z.coerce.number().int().min(0).max(65_536).default(2048),
  RETRY_AFTER_MAX_MS: z.coerce.number().int().min(0).default(6 * 60 * 60 * 1000),
  /** Unset: allowed except in production. See src/security/egress.ts. */
  EGRESS_ALLOW_PRIVATE: bool.optional(),
  EGRESS_ALLOWLIST: optionalString,
  /** Set: deliveries are tunnelled through this HTTP CONNECT proxy (`http://[user:pass@]host:port`). */
  EGRESS_PROXY_URL: optionalString,
  /** An endpoint with no successful attempt for this long is disabled; 0 never disables. */
  ENDPOINT_DISABLE_AFTER_SECONDS: z.coerce.number().int().min(0).max(365 * 86_400).default(5 * 86_400),
  /** Consecutive failed attempts that open an endpoint's circuit, for endpoints without their own; 0: off. */
  CIRCUIT_FAILURE_THRESHOLD: z.coerce.number().int().min(0).max(10_000).default(0),
  /** How long an open circuit waits before its probe attempt, for endpoints without their own. */
  CIRCUIT_COOLDOWN_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /** A `key.expiring` operational event goes out this long before keys in their grace period expire. */
  KEY_EXPIRING_NOTICE_SECONDS: z.coerce.number().int().min(0).max(365 * 86_400).default(86_400),
  TELEMETRY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  HOUSEKEEPING_INTERVAL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(60),
  /** The outbox sweep starts the deliveries of events stored this long ago and still not dispatched. */
  OUTBOX_GRACE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(10_000).default(200),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(1).max(10_000).default(100),
  /** Workflow-task polls a worker keeps open at once (sticky and normal queue together). */
  WORKER_WORKFLOW_TASK_POLLERS: z.coerce.number().int().min(2).max(1_000).default(10),
  /**
   * Share of those polls on the task queue itself (the rest wait on the worker's sticky queue).
   * A new workflow's first task comes from the task queue, later ones from the sticky queue; a
   * delivery that succeeds at once has only a first task, so most polls wait on the task queue
   * (the SDK's default, 0.2, leaves 2 of 10 there, and new deliveries queue behind them).
   */
  WORKER_NONSTICKY_POLL_RATIO: z.coerce.number().gt(0).lt(1).default(0.8),
  /**
   * Workflows a worker keeps in memory between their tasks (Temporal's sticky cache). A workflow
   * evicted from it is replayed from its history at its next task: less memory, more CPU. Unset:
   * the SDK's heap-sized default, at least WORKER_MAX_CONCURRENT_WORKFLOW_TASKS (`cachedWorkflows`).
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).optional(),
  /**
   * Bound on one workflow activation (a call into the workflow sandbox) in ms; beyond it the
   * activation fails and its workflow task is retried. 0 (the default): no bound. The SDK's bound
   * costs a watchdog thread per call (`LeanWorker`); our workflows are ours, with no tenant code.
   */
  WORKER_ACTIVATION_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(0),
  /**
   * Which thread runs the workflow sandbox. `separate` (the default): the SDK's worker thread, so
   * workflow activations (and their garbage collection) never hold up the worker's own thread:
   * its activities, its start relay, and in `npm start` the API. `main`: the worker's own thread;
   * no second V8 heap (about 60 MB less RSS at rest) at the same CPU per delivery, but the API's
   * ingest p99 about doubled in the bench, its answers waiting behind activations
   * (docs/benchmark.md). For memory-limited workers whose ingest tail matters less.
   */
  WORKER_WORKFLOW_THREAD: z.enum(['main', 'separate']).default('separate'),
  /**
   * How far V8 lets a heap grow past its live size before the next full collection, in percent,
   * for a worker process (and `npm start`'s): 20 lets it grow by a fifth. 0 (the default): V8's
   * own, which lets an idle-rich heap grow to several times its live size. In `npm run bench`, 20
   * cut the worker's peak RSS by 20-90 MB for about 4 % more CPU per delivery (docs/benchmark.md).
   */
  WORKER_HEAP_GROWING_PERCENT: z.coerce.number().int().min(0).max(100).default(0),
  /**
   * After SIGTERM (or Ctrl-C), how long a worker waits, in ms, for its running attempts and
   * workflow tasks to finish before it gives up, logs what was still running and exits with
   * status 1 (an attempt cut short is retried with the same delivery id). Keep it below the
   * orchestrator's grace period (Kubernetes' terminationGracePeriodSeconds, 30 s by default), so
   * the worker says why it did not stop rather than being killed without a word.
   */
  WORKER_SHUTDOWN_FORCE_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(25_000),
  /**
   * Where the API and a worker share a process (`npm start`): ingest starts deliveries eagerly on
   * that worker (the first workflow task comes back in the start's answer). No effect elsewhere
   * (a separate API gets eager starts through the workers' start relays, WORKER_START_URLS).
   */
  EAGER_DELIVERY_START: bool.default(true),
  WORKER_METRICS_PORT: port.default(9464),
  /**
   * A worker process listens here for the API's delivery starts (the start relay, see
   * src/temporal/start-relay.ts) and starts them eagerly on itself; 0 (the default): it does not.
   * Needs WORKER_START_TOKEN.
   */
  WORKER_START_PORT: port.default(0),
  /**
   * The API process hands ingest's delivery starts to the workers' start relays at these URLs
   * (comma-separated, `http://worker-1:9465`), in turn; a worker that cannot be reached or refuses
   * leaves the starts to the API's own client. Unset: the API starts deliveries itself.
   */
  WORKER_START_URLS: optionalString,
  /** The bearer token between the API and the workers' start relays (both sides). */
  WORKER_START_TOKEN: optionalString,
  /** How long the API waits for a worker's answer before starting the deliveries itself. */
  WORKER_START_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /**
   * Relay requests the API has in flight to one worker at most; starts that come meanwhile wait
   * and go together in the next request (up to 64), so under load one request carries the starts
   * of several API requests. A light load never waits.
   */
  WORKER_START_IN_FLIGHT: z.coerce.number().int().min(1).max(1024).default(4),

  /** Set: traces are exported over OTLP/HTTP to `<this>/v1/traces`; unset: tracing is off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString,
  OTEL_SERVICE_NAME: z.string().default('temporal-webhooks'),
});

export type NodeEnv = 'development' | 'production' | 'test';
export type Config = Readonly<Omit<z.infer<typeof schema>, 'NODE_ENV'> & { NODE_ENV: NodeEnv }>;

/** Every setting's name, for the check that `.env.example` and the README document each one. */
export const CONFIG_KEYS = Object.keys(schema.shape) as ReadonlyArray<keyof Config>;

/** Thrown when the environment does not describe a valid configuration. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Comma-separated 32-byte keys of a setting, each parsed; throws naming the setting. */
function keysOf(name: string, value: string | undefined): Array<{ text: string; key: Buffer }> {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '')
    .map((text) => {
      try {
        return { text, key: parseMasterKey(text) };
      } catch {
        throw new ConfigError(`${name} must hold 32-byte keys, each as 64 hex characters or base64`);
      }
    });
}

/** The start relay's two sides each need the shared token; the API's side, worker URLs it can call. */
function checkStartRelay(config: Config): void {
  for (const name of ['WORKER_START_PORT', 'WORKER_START_URLS'] as const) {
    if (config[name] && !config.WORKER_START_TOKEN) throw new ConfigError(`${name} needs WORKER_START_TOKEN (the bearer token between the API and the workers' start relays)`);
  }
  for (const url of startRelayUrls(config)) {
    if (!/^https?:\/\/[^/?#\s]+$/.test(url)) throw new ConfigError(`WORKER_START_URLS: ${JSON.stringify(url)} is not an http(s) origin such as http://worker-1:9465`);
  }
}

/** The workers' start relays the API calls (WORKER_START_URLS), each as an origin without a trailing slash. */
export function startRelayUrls(config: Pick<Config, 'WORKER_START_URLS'>): string[] {
  return (config.WORKER_START_URLS ?? '')
    .split(',')
    .map((u) => u.trim().replace(/\/+$/, ''))
    .filter((u) => u !== '');
}

/** Production refuses what would make a deployment guessable; every message names the setting. */
function checkProductionSecrets(config: Config): void {
  if (!config.API_TOKEN) throw new ConfigError('API_TOKEN is required when NODE_ENV=production (an unset NODE_ENV counts as production)');
  if (!config.MASTER_KEY) throw new ConfigError('MASTER_KEY is required when NODE_ENV=production (an unset NODE_ENV counts as production)');
  for (const name of ['API_TOKEN', 'METRICS_TOKEN', 'WORKER_START_TOKEN'] as const) {
    const value = config[name];
    const reason = value === undefined ? null : weakTokenReason(value);
    if (reason) throw new ConfigError(`${name} ${reason} (NODE_ENV=production)`);
  }
  for (const name of ['JWT_SECRET', 'INTROSPECTION_CLIENT_SECRET', 'TEMPORAL_API_KEY'] as const) {
    const value = config[name];
    const reason = value === undefined ? null : weakTokenReason(value, 1);
    if (reason) throw new ConfigError(`${name} ${reason} (NODE_ENV=production)`);
  }
  for (const name of ['MASTER_KEY', 'MASTER_KEY_PREVIOUS', 'TEMPORAL_CODEC_KEY', 'TEMPORAL_CODEC_PREVIOUS_KEYS'] as const) {
    for (const { text, key } of keysOf(name, config[name])) {
      const reason = weakKeyReason(text, key);
      if (reason) throw new ConfigError(`${name} ${reason} (NODE_ENV=production)`);
    }
  }
}

/**
 * Parses configuration from an environment (defaults to `process.env`). Pass overrides in tests
 * instead of mutating `process.env`. An unset NODE_ENV is production (safe defaults) unless the
 * caller names another default: `npm start` asks for development ({@link loadDevConfig}).
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, defaults: { NODE_ENV?: NodeEnv } = {}): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const config: Config = { ...parsed.data, NODE_ENV: parsed.data.NODE_ENV ?? defaults.NODE_ENV ?? 'production' };
  if (config.PLATFORM_API_TOKEN) {
    // The platform token manages every tenant: long, and never the same as a tenant's token.
    if (config.PLATFORM_API_TOKEN.length < 32) throw new ConfigError('PLATFORM_API_TOKEN must be at least 32 characters');
    if (config.PLATFORM_API_TOKEN === config.API_TOKEN) throw new ConfigError('PLATFORM_API_TOKEN must differ from API_TOKEN');
  }
  if (config.JWT_SECRET && config.JWT_SECRET.length < 32) {
    throw new ConfigError('JWT_SECRET must be at least 32 characters');
  }
  if (config.JWT_JWKS_URL && !config.JWT_AUDIENCE) {
    throw new ConfigError('JWT_AUDIENCE is required with JWT_JWKS_URL: a token minted for another service must not pass');
  }
  for (const name of ['MASTER_KEY', 'MASTER_KEY_PREVIOUS', 'TEMPORAL_CODEC_KEY', 'TEMPORAL_CODEC_PREVIOUS_KEYS'] as const) keysOf(name, config[name]);
  if (config.NODE_ENV === 'production') checkProductionSecrets(config);
  try {
    parseAllowlist((config.EGRESS_ALLOWLIST ?? '').split(','));
  } catch (err) {
    throw new ConfigError(`EGRESS_ALLOWLIST: ${(err as Error).message}`);
  }
  for (const key of ['JWT_JWKS_URL', 'INTROSPECTION_URL', 'EGRESS_PROXY_URL', 'OTEL_EXPORTER_OTLP_ENDPOINT'] as const) {
    const value = config[key];
    if (value && !/^https?:\/\//.test(value)) throw new ConfigError(`${key} must be an http(s) URL`);
  }
  checkStartRelay(config);
  return Object.freeze(config);
}

/** `npm start`'s configuration: an unset NODE_ENV means development there (it says so in its banner). */
export function loadDevConfig(): Config {
  return loadConfig(process.env, { NODE_ENV: 'development' });
}

/** Loads `.env` from the project root into `process.env` when the file exists (entry points only). */
export function loadDotEnv(): void {
  const file = path.join(PROJECT_ROOT, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
}
