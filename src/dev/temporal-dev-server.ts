import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger';
import { ensureNamespaceRetention } from '../temporal/namespace-retention';
import { cliSearchAttributeType, ensureSearchAttributes } from '../temporal/register-search-attributes';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes';
import { assertPortFree, findFreePort, hostForUrl, LOOPBACK } from './ports';
import { waitUntilReady } from './readiness';
import type { RunningTemporal } from './running-temporal';
import { startWithSdkDownload } from './sdk-fallback';
import { startServerProcess } from './server-process';
import { devServerDynamicConfigArgs, SERVER_TIMER_SLACK_NS } from './server-tuning';
import { findOrInstallTemporalCli } from './temporal-cli';

/** Options of {@link startTemporalDevServer}. */
export interface StartTemporalDevServerOptions {
  /** gRPC frontend port; `0` picks a free one. */
  port: number;
  /** Web UI port; `null` runs headless; omitted means `port + 1000` (the CLI's default), or a free port when `port` is 0. */
  uiPort?: number | null;
  /** SQLite file that keeps state across restarts; omitted keeps everything in memory. */
  dbFile?: string;
  /** Namespace to create at start (`default` always exists). */
  namespace: string;
  /** Receives progress (CLI build, readiness) and the server's own warnings at debug level. */
  log: Logger;
  /** Address both the frontend and the UI bind to. Default `127.0.0.1`. */
  ip?: string;
  /** How long to wait for the server to answer. Default 60 s. */
  readyTimeoutMs?: number;
  /** Codec endpoint the Web UI calls to show encrypted payloads (`--ui-codec-endpoint`). */
  uiCodecEndpoint?: string;
  /** Days the namespace keeps closed workflows (the tenants' data retention); the server's default when omitted. */
  retentionDays?: number;
}

const DEFAULT_READY_TIMEOUT_MS = 60_000;

/** Pragmas of a file-backed dev server (the one `npm start` runs). */
export const SQLITE_PRAGMAS: readonly string[] = ['journal_mode=wal', 'synchronous=normal'];

/** The `temporal server start-dev` arguments for these options. */
function devServerArgs(ip: string, port: number, uiPort: number | null, opts: StartTemporalDevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port)];
  if (uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  if (uiPort !== null && opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  if (opts.dbFile) {
    // Write-ahead logging with normal syncs: about 1.7× the default pragmas' throughput. A process
    // crash loses nothing; only a power loss can lose the last transactions (a local dev server).
    args.push('--db-filename', path.resolve(opts.dbFile), ...SQLITE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p]));
  }
  // "default" is always created; naming it again is harmless but noisy.
  if (opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=${cliSearchAttributeType(key.type)}`);
  args.push(...devServerDynamicConfigArgs());
  args.push('--log-level', 'warn', '--color', 'never');
  return args;
}

/**
 * Starts `temporal server start-dev` as a child process and waits until it serves `namespace`
 * with the project's search attributes registered.
 *
 * - Fails fast with a clear message when a port is taken (suggesting TEMPORAL_ADDRESS or
 *   TEMPORAL_DEV_PORT / TEMPORAL_UI_PORT).
 * - Creates the SQLite file's folder; the file keeps workflows across restarts.
 * - Readiness is polled (TCP, then `GetSystemInfo` and `DescribeNamespace`), with a deadline
 *   (default 60 s) and the server's output tail in the error when it exits early.
 * - The server runs in its own process group and is killed when this process exits.
 * - When the CLI cannot be found or built (no Go), falls back to the SDK's
 *   `TestWorkflowEnvironment.createLocal()`, which downloads the CLI (needs the internet).
 */
export async function startTemporalDevServer(opts: StartTemporalDevServerOptions): Promise<RunningTemporal> {
  const { namespace, log, dbFile } = opts;
  const ip = opts.ip ?? LOOPBACK;
  const port = opts.port === 0 ? await findFreePort(ip) : opts.port;
  const uiPort = opts.uiPort === null ? null : (opts.uiPort ?? (opts.port === 0 ? await findFreePort(ip) : port + 1000));
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;

  if (uiPort !== null && uiPort === port) {
    throw new Error(`the Temporal UI port and the gRPC port are both ${port}; set TEMPORAL_UI_PORT to another port`);
  }
  await assertPortFree(ip, port, 'gRPC', 'TEMPORAL_DEV_PORT');
  if (uiPort !== null) await assertPortFree(ip, uiPort, 'Web UI', 'TEMPORAL_UI_PORT');
  if (dbFile) await mkdir(path.dirname(path.resolve(dbFile)), { recursive: true });

  const cli = await findOrInstallTemporalCli(log);
  if (cli === null) return startWithSdkDownload({ ip, port, uiPort, dbFile, namespace, log });

  const args = devServerArgs(ip, port, uiPort, opts);
  const started = Date.now();
  const address = `${hostForUrl(ip)}:${port}`;
  const uiUrl = uiPort === null ? null : `http://${hostForUrl(ip)}:${uiPort}`;

  /** Starts the process and waits until it serves; then registers what the namespace lacks. */
  const launch = async () => {
    log.debug({ cli, args }, 'starting the Temporal dev server');
    const server = startServerProcess(cli, args, log, 'temporal dev server', { timerSlackNs: SERVER_TIMER_SLACK_NS });
    const describeFailure = (reason: string): Error =>
      new Error(
        `the Temporal dev server (${cli} ${args.join(' ')}) did not become ready on ${address}: ${reason}` +
          (server.output.toString() ? `\n--- server output (tail) ---\n${server.output.toString()}` : ''),
      );
    try {
      const connection = await Promise.race([
        waitUntilReady({ host: ip, port, namespace, deadline: started + readyTimeoutMs, exitInfo: server.exitInfo, describeFailure }),
        server.spawnFailed.then((err) => {
          throw describeFailure(`cannot run it: ${err.message}`);
        }),
      ]);
      try {
        const added = await ensureSearchAttributes(connection, namespace, log);
        if (opts.retentionDays) await ensureNamespaceRetention(connection, namespace, opts.retentionDays, log);
        return { server, added };
      } finally {
        await connection.close().catch(() => undefined);
      }
    } catch (err) {
      await server.stop();
      throw err;
    }
  };

  const first = await launch();
  let server = first.server;
  if (first.added.length > 0) {
    // A file from before these attributes: with the cache DEV_SERVER_DYNAMIC_CONFIG keeps on,
    // the server's services go on with what they read at start for up to a minute, and refused a
    // workflow carrying a new attribute meanwhile ("no mapping defined for search attribute").
    // Started again, every service reads them anew.
    log.info({ added: first.added }, 'restarting the Temporal dev server so that all its services see the search attributes just registered');
    await server.stop();
    server = (await launch()).server;
  }

  log.info({ address, uiUrl, namespace, dbFile: dbFile ?? null, startupMs: Date.now() - started }, 'Temporal dev server ready');
  return { address, uiUrl, exited: server.exited, stop: server.stop };
}
