import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { PROJECT_ROOT } from '../config';
import type { Logger } from '../logger';
import { cliSearchAttributeType, ensureSearchAttributes } from './register-search-attributes';
import { SEARCH_ATTRIBUTES } from './search-attributes';
import { findOrInstallTemporalCli, OutputTail } from './temporal-cli';

/** A running Temporal dev server, started by {@link startTemporalDevServer}. */
export interface TemporalDevServer {
  /** gRPC frontend address (`host:port`) for `Connection.connect` / `NativeConnection.connect`. */
  readonly address: string;
  /** Web UI base URL, or `null` when the server runs headless. */
  readonly uiUrl: string | null;
  /**
   * Settles when the server process ends, whoever ended it (absent for the SDK-downloaded
   * fallback, which does not report it). Lets a long-running entry point notice a crash.
   */
  readonly exited?: Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL after 10 s) and waits until it is gone. Idempotent. */
  stop(): Promise<void>;
}

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
}

const DEFAULT_IP = '127.0.0.1';
const DEFAULT_READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
export function findFreePort(host = DEFAULT_IP): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves when `port` can be bound on `host`; rejects with a clear message when it is taken. */
async function assertPortFree(host: string, port: number, what: string, setting: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
        reject(
          new Error(
            `cannot start the Temporal dev server: ${what} port ${port} on ${host} is ` +
              `${err.code === 'EADDRINUSE' ? 'already in use' : 'not allowed'} ` +
              `(is another Temporal server running?). Stop it, set TEMPORAL_ADDRESS to use an ` +
              `existing Temporal server instead, or set ${setting} to a free port.`,
          ),
        );
      } else {
        reject(err);
      }
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** Resolves when a TCP connection to `host:port` succeeds, `false` when it is refused. */
function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// Starting the server
// ---------------------------------------------------------------------------------------------

// Children that must not outlive this process. The guards kill them when this process exits, and
// on a signal that nothing else in the process handles (the default action would end the process
// without an 'exit' event, leaving the detached server running).
const guardedChildren = new Set<ChildProcess>();
const GUARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function killGuardedChildren(): void {
  for (const child of guardedChildren) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
}

function onGuardedSignal(signal: NodeJS.Signals): void {
  if (process.listeners(signal).some((listener) => listener !== onGuardedSignal)) return; // handled elsewhere
  killGuardedChildren();
  removeProcessGuards();
  process.kill(process.pid, signal); // the default action, as if we had not listened
}

function removeProcessGuards(): void {
  process.removeListener('exit', killGuardedChildren);
  for (const signal of GUARDED_SIGNALS) process.removeListener(signal, onGuardedSignal);
}

function guardChild(child: ChildProcess): void {
  if (guardedChildren.size === 0) {
    process.on('exit', killGuardedChildren);
    for (const signal of GUARDED_SIGNALS) process.on(signal, onGuardedSignal);
  }
  guardedChildren.add(child);
}

function unguardChild(child: ChildProcess): void {
  if (guardedChildren.delete(child) && guardedChildren.size === 0) removeProcessGuards();
}

/** Wraps an `host:port` for a URL or address (IPv6 in brackets). */
function hostForUrl(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}

interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Polls the server until its frontend answers `GetSystemInfo` and `DescribeNamespace` for
 * `namespace`, or fails early when the process exits. Returns the open connection.
 */
async function waitUntilReady(opts: {
  host: string;
  port: number;
  namespace: string;
  deadline: number;
  exitInfo: () => ChildExit | null;
  describeFailure: (reason: string) => Error;
}): Promise<Connection> {
  const { host, port, namespace, deadline, exitInfo, describeFailure } = opts;
  const address = `${hostForUrl(host)}:${port}`;
  const checkExit = (): void => {
    const exit = exitInfo();
    if (exit) {
      throw describeFailure(`the server exited early (${exit.signal ?? `code ${exit.code}`})`);
    }
  };
  // 1. Cheap TCP probe first: gRPC's own reconnect backoff would add up to a second.
  for (;;) {
    checkExit();
    if (await canConnect(host, port)) break;
    if (Date.now() > deadline) throw describeFailure(`nothing listens on ${address}`);
    await delay(50);
  }

  // 2. The frontend answers and the namespace exists.
  let lastError: string;
  for (;;) {
    checkExit();
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2_000 });
      const conn = connection;
      const callDeadline = Math.min(deadline, Date.now() + 5_000);
      await conn.withDeadline(callDeadline, () => conn.workflowService.getSystemInfo({}));
      await conn.withDeadline(callDeadline, () => conn.workflowService.describeNamespace({ namespace }));
      return conn;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      await connection?.close().catch(() => undefined);
    }
    if (Date.now() > deadline) throw describeFailure(`last error: ${lastError}`);
    await delay(100);
  }
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
 * - The server runs in its own process group, so a terminal's Ctrl-C reaches only this process,
 *   which decides when to stop it; it is killed when this process exits.
 * - When the CLI cannot be found or built (no Go), falls back to the SDK's
 *   `TestWorkflowEnvironment.createLocal()`, which downloads the CLI (needs the internet).
 */
export async function startTemporalDevServer(opts: StartTemporalDevServerOptions): Promise<TemporalDevServer> {
  const { namespace, log, dbFile } = opts;
  const ip = opts.ip ?? DEFAULT_IP;
  const port = opts.port === 0 ? await findFreePort(ip) : opts.port;
  const uiPort =
    opts.uiPort === null ? null : (opts.uiPort ?? (opts.port === 0 ? await findFreePort(ip) : port + 1000));
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;

  if (uiPort !== null && uiPort === port) {
    throw new Error(`the Temporal UI port and the gRPC port are both ${port}; set TEMPORAL_UI_PORT to another port`);
  }
  await assertPortFree(ip, port, 'gRPC', 'TEMPORAL_DEV_PORT');
  if (uiPort !== null) await assertPortFree(ip, uiPort, 'Web UI', 'TEMPORAL_UI_PORT');
  if (dbFile) await mkdir(path.dirname(path.resolve(dbFile)), { recursive: true });

  const cli = await findOrInstallTemporalCli(log);
  if (cli === null) {
    return startWithSdkDownload({ ip, port, uiPort, dbFile, namespace, log });
  }

  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port)];
  if (uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  if (uiPort !== null && opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  if (dbFile) args.push('--db-filename', path.resolve(dbFile));
  // "default" is always created; naming it again is harmless but noisy.
  if (namespace !== 'default') args.push('--namespace', namespace);
  for (const key of SEARCH_ATTRIBUTES) {
    args.push('--search-attribute', `${key.name}=${cliSearchAttributeType(key.type)}`);
  }
  args.push('--log-level', 'warn', '--color', 'never');

  const started = Date.now();
  log.debug({ cli, args }, 'starting the Temporal dev server');
  const child: ChildProcess = spawn(cli, args, {
    cwd: PROJECT_ROOT,
    env: process.env,
    // Own process group: Ctrl-C in a terminal is not delivered to the server, we stop it.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let exit: ChildExit | null = null;
  let stopping = false;
  let markExited: () => void = () => undefined;
  const exited = new Promise<void>((resolve) => {
    markExited = resolve;
  });
  // 'close' rather than 'exit': it comes after the output pipes are drained, so the tail is whole.
  child.once('close', (code, signal) => {
    exit = { code, signal };
    markExited();
  });
  const spawnFailed = new Promise<Error>((resolve) =>
    child.once('error', (err) => {
      // A process that could not be spawned never emits 'exit'.
      if (child.pid === undefined && exit === null) {
        exit = { code: null, signal: null };
        markExited();
      }
      resolve(err);
    }),
  );

  guardChild(child);
  void exited.then(() => unguardChild(child));

  const output = new OutputTail();
  const onLine = (line: string): void => {
    if (stopping) return;
    if (/level=(ERROR|FATAL)/.test(line)) log.warn({ line }, 'temporal dev server');
    else log.debug({ line }, 'temporal dev server');
  };
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk, onLine));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk, onLine));

  const address = `${hostForUrl(ip)}:${port}`;
  const uiUrl = uiPort === null ? null : `http://${hostForUrl(ip)}:${uiPort}`;

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      stopping = true;
      if (exit === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          if (exit === null) {
            log.warn({ address }, 'Temporal dev server did not stop within 10 s; killing it');
            child.kill('SIGKILL');
          }
        }, STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      unguardChild(child);
    })());

  const describeFailure = (reason: string): Error =>
    new Error(
      `the Temporal dev server (${cli} ${args.join(' ')}) did not become ready on ${address}: ${reason}` +
        (output.toString() ? `\n--- server output (tail) ---\n${output.toString()}` : ''),
    );

  let connection: Connection;
  try {
    connection = await Promise.race([
      waitUntilReady({
        host: ip,
        port,
        namespace,
        deadline: started + readyTimeoutMs,
        exitInfo: () => exit,
        describeFailure,
      }),
      spawnFailed.then((err) => {
        throw describeFailure(`cannot run it: ${err.message}`);
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }

  try {
    await ensureSearchAttributes(connection, namespace, log);
  } catch (err) {
    await stop();
    throw err;
  } finally {
    await connection.close().catch(() => undefined);
  }

  log.info({ address, uiUrl, namespace, dbFile: dbFile ?? null, startupMs: Date.now() - started }, 'Temporal dev server ready');
  return { address, uiUrl, exited, stop };
}

/** Last resort: let the SDK download the CLI and run it (machines with internet only). */
async function startWithSdkDownload(opts: {
  ip: string;
  port: number;
  uiPort: number | null;
  dbFile: string | undefined;
  namespace: string;
  log: Logger;
}): Promise<TemporalDevServer> {
  const { ip, port, uiPort, dbFile, namespace, log } = opts;
  log.warn('falling back to the Temporal SDK downloading the CLI (needs the internet)');
  // Loaded lazily: @temporalio/testing is a dev dependency and only needed here.
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const started = Date.now();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'cached-download', downloadDir: path.join(PROJECT_ROOT, '.tools', 'sdk-download') },
      ip,
      port,
      ui: uiPort !== null,
      ...(uiPort !== null ? { uiPort } : {}),
      ...(dbFile ? { dbFilename: path.resolve(dbFile) } : {}),
      namespace,
      searchAttributes: [...SEARCH_ATTRIBUTES],
      log: { format: 'pretty', level: 'warn' },
    },
  });
  try {
    await ensureSearchAttributes(env.connection, namespace, log);
  } catch (err) {
    await env.teardown();
    throw err;
  }
  const address = env.address;
  const uiUrl = uiPort === null ? null : `http://${hostForUrl(ip)}:${uiPort}`;
  log.info({ address, uiUrl, namespace, startupMs: Date.now() - started }, 'Temporal dev server (SDK download) ready');
  let stopped: Promise<void> | undefined;
  return {
    address,
    uiUrl,
    stop: () => (stopped ??= env.teardown()),
  };
}
