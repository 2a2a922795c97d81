/**
 * `npm run bench`: delivery throughput and latency of the service, next to a minimal
 * one-activity Temporal workflow ("floor") and direct POSTs ("direct"), all against one local
 * receiver, in one run. Starts (and afterwards removes) everything it needs: a Temporal dev
 * server unless TEMPORAL_ADDRESS is set, a throwaway database unless DATABASE_URL is set, the
 * API in this process and each worker in a child process (so its RSS can be read).
 *
 * See docs/benchmark.md.
 */
import { benchLogger, Cleanup, prepareDatabase, progress, startTemporal } from './bench/infra';
import type { RunContext, RunResult } from './bench/measure';
import { parseOptions, USAGE, UsageError, type RunName } from './bench/options';
import { BenchReceiver } from './bench/receiver';
import { jsonReport, reportMeta, textReport } from './bench/report';
import { bodyBytes, runDirect, runFloor, runService } from './bench/runs';

const RUNNERS: Record<RunName, (ctx: RunContext) => Promise<RunResult>> = {
  service: runService,
  floor: runFloor,
  direct: runDirect,
};

/** Ctrl-C / SIGTERM: clean up, then exit; a second signal exits at once (children are still killed). */
function onSignal(cleanup: Cleanup): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    progress(`${signal}: cleaning up`);
    cleanup
      .run()
      .catch(() => undefined)
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
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

  const logLevel = process.env.BENCH_LOG_LEVEL?.trim() || 'warn';
  const log = benchLogger(logLevel);
  const cleanup = new Cleanup(log);
  onSignal(cleanup);
  try {
    const temporal = await startTemporal(log, cleanup);
    const database = await prepareDatabase(log, cleanup);
    const receiver = await BenchReceiver.start();
    cleanup.add('close receiver', () => receiver.close());
    const ctx: RunContext = { opts, log, logLevel, temporal, database, receiver, cleanup };
    const meta = reportMeta(opts, temporal.description, database.description, bodyBytes());

    const results: RunResult[] = [];
    for (const name of opts.runs) {
      const started = performance.now();
      const result = await RUNNERS[name](ctx);
      results.push(result);
      progress(
        `${name}: ${result.throughput.toFixed(1)} deliveries/s, e2e p50 ${result.e2e.p50.toFixed(1)} ms ` +
          `(run took ${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
    }

    process.stdout.write(
      opts.json ? `${JSON.stringify(jsonReport(meta, results), null, 2)}\n` : `\n${textReport(meta, results)}\n`,
    );
  } finally {
    progress('cleaning up');
    await cleanup.run();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
