import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../logger';
import { assertPortFree, hostForUrl, LOOPBACK } from '../ports';
import { waitUntilReady } from '../readiness';
import type { RunningTemporal } from '../running-temporal';
import { startServerProcess, type ServerProcess } from '../server-process';
import { SERVER_TIMER_SLACK_NS } from '../server-tuning';
import { findOrBuildClusterBinaries, TEMPORAL_SERVER_VERSION } from './binaries';
import { dropClusterDatabases, ensureClusterDatabases, type ClusterDatabases } from './databases';
import { ensureNamespace } from './namespace';
import { CLUSTER_CONFIG_ENV, pickClusterPorts, writeClusterConfig, type ClusterPorts } from './server-config';

/** Options of {@link startTemporalCluster}. */
export interface StartTemporalClusterOptions {
  /** Admin URL of the Postgres server that holds the cluster's two databases. */
  postgresUrl: string;
  /** Name of the main database; the visibility database is `<name>_visibility`. */
  database: string;
  namespace: string;
  /** How long closed workflows stay readable, days. */
  retentionDays: number;
  /** History shards (fixed for the databases' lifetime). */
  shards: number;
  /** gRPC frontend port; 0 picks a free one. */
  port: number;
  /** Where the config files go; default a fresh temp folder. */
  dir?: string;
  ip?: string;
  /** Connections of the main store's pool (default 20). */
  maxConns?: number;
  /** How long to wait for the server and the namespace. Default 120 s. */
  readyTimeoutMs?: number;
  log: Logger;
}

const DEFAULT_READY_TIMEOUT_MS = 120_000;
/** The namespace every Temporal server keeps for itself: it answers once the frontend is up. */
const SYSTEM_NAMESPACE = 'temporal-system';

/** The two database names of a cluster called `database`. */
export function clusterDatabases(postgresUrl: string, database: string): ClusterDatabases {
  return { adminUrl: postgresUrl, main: database, visibility: `${database}_visibility` };
}

/** A Temporal server on Postgres that this process runs; it can be restarted on the same ports and data. */
export class RunningCluster implements RunningTemporal {
  readonly uiUrl = null;

  private constructor(
    readonly address: string,
    readonly databases: ClusterDatabases,
    readonly ports: ClusterPorts,
    private readonly command: { server: string; args: string[] },
    private readonly opts: StartTemporalClusterOptions,
    private process: ServerProcess,
  ) {}

  /** Settles when the current server process ends. */
  get exited(): Promise<void> {
    return this.process.exited;
  }

  /** Process id of the current server process. */
  get pid(): number | undefined {
    return this.process.pid;
  }

  /** SIGTERM, then SIGKILL after 10 s. Idempotent; the databases stay. */
  stop(): Promise<void> {
    return this.process.stop();
  }

  /** Stops the server (SIGKILL when `kill`, as a crash would) and starts it again on the same ports and databases. */
  async restart(kill = false): Promise<void> {
    if (kill) this.process.kill();
    await this.process.stop();
    this.process = await RunningCluster.launch(this.command, this.address, this.ports.frontend, this.opts);
  }

  /** Stops the server, then drops its two databases (for a throwaway cluster). */
  async destroy(): Promise<void> {
    await this.stop();
    await dropClusterDatabases(this.databases);
  }

  private static async launch(command: { server: string; args: string[] }, address: string, port: number, opts: StartTemporalClusterOptions): Promise<ServerProcess> {
    const { log, namespace } = opts;
    const ip = opts.ip ?? LOOPBACK;
    const started = Date.now();
    const deadline = started + (opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    const server = startServerProcess(command.server, command.args, log, 'temporal server', { timerSlackNs: SERVER_TIMER_SLACK_NS });
    const describeFailure = (reason: string): Error =>
      new Error(
        `the Temporal server (${command.server} ${command.args.join(' ')}) did not become ready on ${address}: ${reason}` +
          (server.output.toString() ? `\n--- server output (tail) ---\n${server.output.toString()}` : ''),
      );
    try {
      const connection = await Promise.race([
        waitUntilReady({ host: ip, port, namespace: SYSTEM_NAMESPACE, deadline, exitInfo: server.exitInfo, describeFailure }),
        server.spawnFailed.then((err) => {
          throw describeFailure(`cannot run it: ${err.message}`);
        }),
      ]);
      try {
        await ensureNamespace(connection, namespace, opts.retentionDays, log, deadline);
      } finally {
        await connection.close().catch(() => undefined);
      }
    } catch (err) {
      await server.stop();
      throw err;
    }
    log.info({ address, namespace, startupMs: Date.now() - started }, 'Temporal server ready');
    return server;
  }

  /** See {@link startTemporalCluster}. */
  static async start(opts: StartTemporalClusterOptions): Promise<RunningCluster> {
    const { log } = opts;
    const ip = opts.ip ?? LOOPBACK;
    if (opts.port !== 0) await assertPortFree(ip, opts.port, 'gRPC', 'TEMPORAL_CLUSTER_PORT');
    const binaries = await findOrBuildClusterBinaries(log);
    const databases = clusterDatabases(opts.postgresUrl, opts.database);
    await ensureClusterDatabases(binaries.sqlTool, databases, log);
    const ports = await pickClusterPorts(ip, opts.port);
    const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'temporal-cluster-')));
    const configDir = await writeClusterConfig(dir, { ip, ports, databases, shards: opts.shards, maxConns: opts.maxConns ?? 20 });
    const command = { server: binaries.server, args: ['--root', '/', '--config', configDir, '--env', CLUSTER_CONFIG_ENV, '--allow-no-auth', 'start'] };
    const address = `${hostForUrl(ip)}:${ports.frontend}`;
    log.debug({ version: TEMPORAL_SERVER_VERSION, configDir, databases: [databases.main, databases.visibility], shards: opts.shards }, 'starting the Temporal server');
    const process = await RunningCluster.launch(command, address, ports.frontend, opts);
    return new RunningCluster(address, databases, ports, command, opts, process);
  }
}

/**
 * Runs Temporal {@link TEMPORAL_SERVER_VERSION} the way production does: the server binary (all
 * four services in one process) on Postgres, with SQL visibility.
 *
 * - Builds the server and schema tool once into `.tools/bin` (reused after).
 * - Creates the two databases when missing and migrates them (an existing schema is upgraded,
 *   never recreated), then writes the config (`shards`, free ports but the frontend's).
 * - Waits until the frontend answers, registers the namespace with its retention and the
 *   project's search attributes, and until a visibility query on them is accepted.
 * - The server runs in its own process group and is killed when this process exits.
 */
export function startTemporalCluster(opts: StartTemporalClusterOptions): Promise<RunningCluster> {
  return RunningCluster.start(opts);
}
