import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import pino from 'pino';
import { migrate } from '../../src/db/knex';
import { REDACTED_PATHS, type Logger } from '../../src/logger';
import { findFreePort } from '../../src/dev/ports';
import { startTemporalCluster } from '../../src/dev/cluster/cluster';
import { TEMPORAL_SERVER_VERSION } from '../../src/dev/cluster/binaries';
import { startTemporalDevServer } from '../../src/dev/temporal-dev-server';
import { commandLine, findTemporalServerPid } from './procs';

/** Fixed secrets of a bench run (a local throwaway database; never used elsewhere). */
export const BENCH_MASTER_KEY = '5e'.repeat(32);
export const BENCH_API_TOKEN = 'bench-token-0123456789abcdef';

/** Short random tag naming this run's task queues and workflow ids. */
export const RUN_TAG = randomBytes(4).toString('hex');

/**
 * What a dev server says when it is resumed after a pause (the core runs pause the subjects not
 * being measured): the polls its workers had open ran past their deadlines meanwhile.
 */
const RESUMED_POLL = /Unable to call matching\.Poll\w+TaskQueue\..*context deadline exceeded/;
/**
 * And in the seconds after a resume, whatever else was under way when it stopped: its task-queue
 * reads and range completions, matching's task-queue updates, the system workers' polls, all
 * failing on deadlines that passed while it was stopped (measured: 90 such lines after a 60 s
 * pause right after a saturated phase; the server then ran as before); and for about a second
 * its shard, lost on such a deadline and taken again (`shard status unknown`: queue reads, queue
 * state updates, the starts it refused meanwhile).
 */
const RAN_OUT_WHILE_PAUSED = /context deadline exceeded|context canceled|RST_STREAM|shard status unknown/;
const AFTER_RESUME_MS = 5_000;

let resumedAt = Number.NEGATIVE_INFINITY;
let pauseLines = 0;

/** Tells the log that paused processes were just resumed (see {@link pauseLinesLeftOut}). */
export function noteResumed(): void {
  resumedAt = performance.now();
}

/**
 * Dev-server error lines left out of the bench's log so far as a pause's aftermath: the expected
 * lines above (logged at debug instead, so `BENCH_LOG_LEVEL=debug` still shows them).
 */
export function pauseLinesLeftOut(): number {
  return pauseLines;
}

function afterPause(line: string): boolean {
  return RESUMED_POLL.test(line) || (performance.now() - resumedAt < AFTER_RESUME_MS && RAN_OUT_WHILE_PAUSED.test(line));
}

/** Logs to stderr, so stdout carries only the report (`--json` stays parseable). */
export function benchLogger(level: string, destination: pino.DestinationStream = pino.destination(2)): Logger {
  return pino(
    {
      name: 'bench',
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      hooks: {
        logMethod(args, method, level) {
          const first = args[0] as unknown;
          const line = first !== null && typeof first === 'object' ? (first as { line?: unknown }).line : undefined;
          if (level > this.levels.values.debug! && typeof line === 'string' && afterPause(line)) {
            pauseLines++;
            this.debug(...(args as Parameters<Logger['debug']>));
            return;
          }
          method.apply(this, args);
        },
      },
    },
    destination,
  );
}

/** Progress lines on stderr. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Undo steps, run last-in first-out exactly once (on success, error or signal). */
export class Cleanup {
  private readonly steps: Array<{ name: string; run: () => Promise<void> }> = [];
  private running: Promise<void> | undefined;

  constructor(private readonly log: Logger) {}

  add(name: string, run: () => Promise<void>): void {
    this.steps.push({ name, run });
  }

  run(): Promise<void> {
    return (this.running ??= (async () => {
      for (let step = this.steps.pop(); step; step = this.steps.pop()) {
        try {
          await step.run();
        } catch (err) {
          this.log.error({ err, step: step.name }, 'cleanup step failed');
        }
      }
      this.running = undefined;
    })());
  }
}

/**
 * The Temporal server a run delivers through. It comes from wherever the run is told (an
 * in-memory dev server, the file-backed one `npm start` runs, TEMPORAL_ADDRESS, later a cluster):
 * the runs only need its address and the processes whose CPU counts as Temporal's.
 */
export interface TemporalTarget {
  address: string;
  namespace: string;
  /** Processes of the server on this machine (their CPU is "Temporal"); [] for a server elsewhere. */
  serverPids: number[];
  /** What the store is, for the report. */
  store: 'in-memory' | 'file' | 'cluster' | 'external';
  description: string;
}

/** A dev server the bench starts on a free port; `dbFile` as `npm start` passes it. */
async function devServer(log: Logger, cleanup: Cleanup, dbFile?: string, uiPort: number | null = null) {
  const server = await startTemporalDevServer({ port: 0, uiPort, namespace: 'default', log, ...(dbFile ? { dbFile } : {}) });
  cleanup.add(`stop Temporal dev server ${server.address}`, () => server.stop());
  const port = Number(server.address.slice(server.address.lastIndexOf(':') + 1));
  const pid = findTemporalServerPid(port);
  return { server, pid, args: pid === null ? [] : commandLine(pid) };
}

/**
 * The Temporal server `npm run cluster` runs (on BENCH_DATABASE_URL's Postgres), with databases
 * of its own (`temporal_bench_<pid>`), stopped and dropped by `cleanup`.
 */
async function startCluster(log: Logger, cleanup: Cleanup): Promise<TemporalTarget> {
  const shards = Number(process.env.TEMPORAL_CLUSTER_SHARDS?.trim() || 4);
  progress(`starting a Temporal ${TEMPORAL_SERVER_VERSION} server on Postgres (${shards} history shards; builds it first if needed)`);
  const cluster = await startTemporalCluster({ postgresUrl: adminUrl(), database: `temporal_bench_${process.pid}`, namespace: 'default', retentionDays: 1, shards, port: 0, log });
  cleanup.add(`stop Temporal server ${cluster.address} and drop its databases`, () => cluster.destroy());
  return {
    address: cluster.address,
    namespace: 'default',
    serverPids: cluster.pid === undefined ? [] : [cluster.pid],
    store: 'cluster',
    description: `Temporal server ${TEMPORAL_SERVER_VERSION} ${cluster.address} (Postgres, SQL visibility, ${shards} history shards)`,
  };
}

/** TEMPORAL_ADDRESS when set; otherwise an in-memory dev server or a cluster (`kind`), stopped by `cleanup`. */
export async function startTemporal(log: Logger, cleanup: Cleanup, kind: 'dev' | 'cluster' = 'dev'): Promise<TemporalTarget> {
  const namespace = process.env.TEMPORAL_NAMESPACE?.trim() || 'default';
  const external = process.env.TEMPORAL_ADDRESS?.trim();
  if (external) return { address: external, namespace, serverPids: [], store: 'external', description: `external ${external}` };
  if (kind === 'cluster') return startCluster(log, cleanup);
  progress('starting an in-memory Temporal dev server');
  const { server, pid } = await devServer(log, cleanup);
  return {
    address: server.address,
    namespace: 'default',
    serverPids: pid === null ? [] : [pid],
    store: 'in-memory',
    description: `dev server ${server.address} (in-memory SQLite)`,
  };
}

/**
 * A dev server started the way `npm start` starts it: SQLite in a file (here in a fresh temp
 * folder), whatever pragmas `startTemporalDevServer` gives a file-backed server, the Web UI on.
 * Stopped and its folder removed by `cleanup`.
 */
export async function startFileBackedTemporal(log: Logger, cleanup: Cleanup): Promise<TemporalTarget> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'webhooks-bench-temporal-'));
  cleanup.add(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }));
  progress(`starting a file-backed Temporal dev server (${dir})`);
  const { server, pid, args } = await devServer(log, cleanup, path.join(dir, 'temporal.sqlite'), await findFreePort());
  const pragmas = args.flatMap((a, i) => (args[i - 1] === '--sqlite-pragma' ? [a] : []));
  return {
    address: server.address,
    namespace: 'default',
    serverPids: pid === null ? [] : [pid],
    store: 'file',
    description: `dev server ${server.address} (SQLite file, pragmas: ${pragmas.length ? pragmas.join(' ') : 'SQLite defaults'})`,
  };
}

export interface DatabaseTarget {
  url: string;
  description: string;
}

const adminUrl = () => process.env.BENCH_DATABASE_URL?.trim() || 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Creates an empty database `name` on BENCH_DATABASE_URL's server (default the local one),
 * dropped (with force) by `cleanup`; answers its URL.
 */
export async function createDatabase(name: string, cleanup: Cleanup): Promise<string> {
  const admin = () => knexFactory({ client: 'pg', connection: adminUrl(), pool: { min: 0, max: 1 } });
  const run = async (sql: string) => {
    const db = admin();
    try {
      await db.raw(sql, [name]);
    } finally {
      await db.destroy();
    }
  };
  progress(`creating database ${name}`);
  await run('drop database if exists ?? with (force)');
  await run('create database ??');
  cleanup.add(`drop database ${name}`, () => run('drop database if exists ?? with (force)'));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * DATABASE_URL when set (migrated by the service itself); otherwise a fresh, migrated
 * `webhooks_bench_<pid>` on BENCH_DATABASE_URL's server, dropped (with force) by `cleanup`.
 */
export async function prepareDatabase(log: Logger, cleanup: Cleanup): Promise<DatabaseTarget> {
  const given = process.env.DATABASE_URL?.trim();
  if (given) return { url: given, description: 'DATABASE_URL' };
  const name = `webhooks_bench_${process.pid}`;
  const url = await createDatabase(name, cleanup);
  const bench = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  try {
    await migrate(bench, 'default');
  } finally {
    await bench.destroy();
  }
  log.debug({ name }, 'bench database ready');
  const shown = new URL(url);
  shown.password = '';
  return { url, description: `${shown.toString()} (created, dropped at exit)` };
}
