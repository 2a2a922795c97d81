import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { totalmem } from 'node:os';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import type { Config } from './config';
import { resolveMasterKey } from './dev-secrets';
import { migrate, openDatabase, type Db } from './db/knex';
import type { Logger } from './logger';
import { scrapeAllowed, type Metrics } from './metrics';
import { parseKeyList, SecretBox } from './security/secret-box';

/**
 * Sets V8's heap growing factor for every heap of this process (the workflow threads' too) to
 * WORKER_HEAP_GROWING_PERCENT, when set. A V8 flag read at each collection, so setting it at
 * startup, before the worker starts, does what `node --heap-growing-percent` does.
 */
export function applyHeapGrowth(config: Pick<Config, 'WORKER_HEAP_GROWING_PERCENT'>, log: Logger): void {
  const percent = config.WORKER_HEAP_GROWING_PERCENT;
  if (percent <= 0) return;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  log.info({ percent }, 'heaps grow by at most this percent between full collections (WORKER_HEAP_GROWING_PERCENT)');
}

/** Below this memory limit V8's young generation costs a worker (and the API) measurable CPU (docs/deploy.md). */
export const SMALL_MEMORY_LIMIT_MB = 1024;

/** V8 options that size heaps by hand: given any of them, the operator has chosen the sizes. */
const HEAP_SIZE_OPTION = /--(max[-_](semi[-_]space|old[-_]space|young[-_]generation|heap)[-_]size|optimize[-_]for[-_]size)\b/;

export interface HeapSizing {
  /** The process's memory limit (a container's), when it has one below the machine's memory. */
  memoryLimitMb: number | null;
  /** The heap limit V8 chose (from that limit, unless set by hand). */
  heapLimitMb: number;
  /** Whether a V8 option on the command line or in NODE_OPTIONS sizes the heaps. */
  sizedByHand: boolean;
}

/** What V8 sized this process's heaps from. */
export function heapSizing(
  env: { constrainedBytes: number; totalBytes: number; heapLimitBytes: number; execArgv: readonly string[]; nodeOptions?: string } = {
    constrainedBytes: process.constrainedMemory(),
    totalBytes: totalmem(),
    heapLimitBytes: getHeapStatistics().heap_size_limit,
    execArgv: process.execArgv,
    nodeOptions: process.env.NODE_OPTIONS,
  },
): HeapSizing {
  const limited = env.constrainedBytes > 0 && env.constrainedBytes < env.totalBytes;
  return {
    memoryLimitMb: limited ? Math.round(env.constrainedBytes / 2 ** 20) : null,
    heapLimitMb: Math.round(env.heapLimitBytes / 2 ** 20),
    sizedByHand: [...env.execArgv, env.nodeOptions ?? ''].some((arg) => HEAP_SIZE_OPTION.test(arg)),
  };
}

/**
 * Logs how V8 sized the heaps, and warns when a memory limit under {@link SMALL_MEMORY_LIMIT_MB}
 * left it to shrink each isolate's young generation: Node sizes V8's heaps from a container's
 * limit, and at 512 MB a worker spent about a sixth more CPU per delivery in the bench, the API
 * a quarter or more. Every process logs it: the API, the worker and `npm start`.
 */
export function reportHeapSizing(log: Logger, sizing: HeapSizing = heapSizing()): void {
  log.info(sizing, 'V8 heap sizes');
  if (sizing.memoryLimitMb === null || sizing.memoryLimitMb >= SMALL_MEMORY_LIMIT_MB || sizing.sizedByHand) return;
  log.warn(
    { memoryLimitMb: sizing.memoryLimitMb },
    `under a memory limit of ${sizing.memoryLimitMb} MB V8 shrinks the young generation, which costs CPU per delivery; ` +
      'NODE_OPTIONS=--max-semi-space-size=16 keeps the default for some 60 MB more (docs/deploy.md, "Memory")',
  );
}

/** Address of Temporal when no dev server is started by this process. */
export function configuredTemporalAddress(config: Config): string {
  return config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_DEV_PORT}`;
}

/** The secret box: MASTER_KEY (or the local dev key) seals; MASTER_KEY_PREVIOUS keys still open. */
export function openSecretBox(config: Config, log: Logger): SecretBox {
  return new SecretBox(resolveMasterKey(config, log), parseKeyList(config.MASTER_KEY_PREVIOUS));
}

/** Opens and migrates the database and builds the secret box. */
export async function openStorage(config: Config, log: Logger): Promise<{ db: Db; box: SecretBox }> {
  const db = openDatabase(config, log);
  await migrate(db, config.DEFAULT_TENANT_ID);
  return { db, box: openSecretBox(config, log) };
}

/** Listens on host:port (port 0 picks a free port) and answers the URL to reach it. */
export async function listen(server: Server, host: string, port: number): Promise<{ server: Server; url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return { server, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}` };
}

/**
 * Serves `GET /metrics` on a listener of its own, for a process without the API (the worker),
 * behind `token` (METRICS_TOKEN) when one is given. Anything else answers 404: the port is for
 * the scraper only.
 */
export async function startMetricsServer(metrics: Metrics, host: string, port: number, token?: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (!scrapeAllowed(token, req.headers.authorization)) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('unauthorized: Authorization: Bearer <METRICS_TOKEN>\n');
      return;
    }
    metrics.scrape().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n'),
    );
  });
  return listen(server, host, port);
}

/** How long a process's HTTP servers let requests in progress finish when it stops. */
export const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Stops taking connections and closes the server. With `graceMs`, requests in progress get that
 * long to finish (an ingest halfway through storing its event answers, rather than its client
 * seeing the connection cut), idle keep-alive connections close as they come free, and what is
 * left after it (an open event stream, say) is cut. Without, every connection is cut at once.
 */
export function closeServer(server: Server, graceMs = 0): Promise<void> {
  return new Promise((resolve) => {
    if (graceMs <= 0) {
      server.close(() => resolve());
      server.closeAllConnections();
      return;
    }
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(idle);
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** Runs `cleanup` once on SIGINT/SIGTERM, then exits; a second signal exits at once. */
export function onShutdown(log: Logger, cleanup: () => Promise<void>): void {
  let stopping = false;
  const handle = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'shutting down');
    cleanup()
      .then(() => process.exit(0))
      .catch((err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => handle('SIGINT'));
  process.on('SIGTERM', () => handle('SIGTERM'));
}
