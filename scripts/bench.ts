/**
 * `npm run bench`: the service's delivery throughput, cost per delivery and latency next to the
 * least a Temporal delivery costs on the same machine ("floor": one process, eager start, one
 * local activity), plus the file-backed store, reads over a large history, a fan-out and the
 * worker's memory with many deliveries in flight; each target of issue 11 beside its figure.
 * Starts (and afterwards removes) everything it needs: Temporal dev servers unless
 * TEMPORAL_ADDRESS is set, a throwaway database unless DATABASE_URL is set; the API, each worker
 * and the floor run compiled (`npm run build`), each in a child process (so their CPU and RSS are
 * their own).
 *
 * See docs/benchmark.md.
 */
import { writeFileSync } from 'node:fs';
import { bodyBytes } from './bench/floor';
import { runFanout } from './bench/fanout';
import { benchLogger, Cleanup, prepareDatabase, progress, startTemporal } from './bench/infra';
import { SAMPLES_HEADER, type RunContext } from './bench/measure';
import { parseOptions, USAGE, UsageError, type RunName } from './bench/options';
import { PostgresCpu } from './bench/pg-cpu';
import { stampChildOutput } from './bench/procs';
import { buildProject } from '../src/dev/build';
import { runReads } from './bench/reads';
import { BenchReceiver } from './bench/receiver';
import { jsonReport, reportMeta } from './bench/report';
import { textReport } from './bench/report-text';
import { runRss } from './bench/rss';
import { runStep } from './bench/step';
import { runVisibility } from './bench/visibility';
import { resumePaused, runCoreRuns, runDirect, runFifo, runFloorRegular } from './bench/runs';
import type { BenchResults } from './bench/targets';

/** Ctrl-C / SIGTERM: clean up, then exit; a second signal exits at once (children are still killed). */
function onSignal(cleanup: Cleanup): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    progress(`${signal}: cleaning up`);
    resumePaused();
    cleanup
      .run()
      .catch(() => undefined)
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}

/** Each run in turn; a run that fails is reported and the others still run. */
async function runAll(ctx: RunContext, results: BenchResults): Promise<void> {
  const has = (...names: RunName[]) => names.some((n) => ctx.opts.runs.includes(n));
  const steps: Array<[string, boolean, () => Promise<void>]> = [
    ['floor, service, latency, one-process, file', has('floor', 'service', 'latency', 'one-process', 'file'), async () => {
      const core = await runCoreRuns(ctx);
      results.runs.push(...core.runs);
      results.fileStore = core.fileStore;
    }],
    ['floor-regular', has('floor-regular'), async () => void results.runs.push(await runFloorRegular(ctx))],
    ['direct', has('direct'), async () => void results.runs.push(await runDirect(ctx))],
    ['step', has('step'), async () => void (results.step = await runStep(ctx))],
    ['visibility', has('visibility'), async () => void (results.visibility = await runVisibility(ctx))],
    ['fifo', has('fifo'), async () => void results.runs.push(await runFifo(ctx))],
    ['reads', has('reads'), async () => void (results.reads = await runReads(ctx))],
    ['fanout', has('fanout'), async () => void (results.fanout = await runFanout(ctx))],
    ['rss', has('rss'), async () => void (results.rss = await runRss(ctx))],
  ];
  for (const [name, wanted, step] of steps) {
    if (!wanted) continue;
    const started = performance.now();
    try {
      await step();
      progress(`${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      progress(`${name}: FAILED: ${message}`);
      results.errors.push({ run: name, message });
    }
  }
}

async function main(): Promise<void> {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (opts.samplesFile) {
    try {
      writeFileSync(opts.samplesFile, SAMPLES_HEADER);
    } catch (err) {
      process.stderr.write(`--samples: cannot write ${opts.samplesFile}: ${(err as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    stampChildOutput();
  }

  const logLevel = process.env.BENCH_LOG_LEVEL?.trim() || 'warn';
  const log = benchLogger(logLevel);
  const cleanup = new Cleanup(log);
  onSignal(cleanup);
  try {
    progress('compiling the project (npm run build): the API, the workers and the floor run compiled, as deployed');
    await buildProject();
    const temporal = await startTemporal(log, cleanup, opts.temporal);
    const database = await prepareDatabase(log, cleanup);
    const receiver = await BenchReceiver.start();
    cleanup.add('close receiver', () => receiver.close());
    const pgCpu = new PostgresCpu(database.url);
    cleanup.add('close Postgres CPU probe', () => pgCpu.close());
    const ctx: RunContext = { opts, log, logLevel, temporal, database, receiver, pgCpu, cleanup };
    const meta = reportMeta(opts, temporal.description, database.description, bodyBytes());
    const results: BenchResults = { runs: [], fileStore: null, reads: null, fanout: null, rss: null, step: null, visibility: null, errors: [] };
    await runAll(ctx, results);
    process.stdout.write(opts.json ? `${JSON.stringify(jsonReport(meta, results), null, 2)}\n` : `\n${textReport(meta, results)}\n`);
    if (results.errors.length > 0) process.exitCode = 1;
  } finally {
    progress('cleaning up');
    await cleanup.run();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
