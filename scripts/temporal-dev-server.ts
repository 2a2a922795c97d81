/**
 * `npm run temporal`: runs the local Temporal dev server (SQLite file, Web UI) with the project's
 * search attributes registered, until Ctrl-C / SIGTERM.
 * `npm run temporal:install`: only makes sure the Temporal CLI is there (finds it, or builds it with
 * `go install` into `.tools/bin`), prints its path and version.
 */
import { loadDevConfig, loadDotEnv } from '../src/config';
import { createLogger, type Logger } from '../src/logger';
import { startTemporalDevServer } from '../src/dev/temporal-dev-server';
import { findOrInstallTemporalCli, getTemporalCliVersion, TEMPORAL_CLI_VERSION } from '../src/dev/temporal-cli';

const USAGE = `usage: tsx scripts/temporal-dev-server.ts [--install-only]

  (no option)     start the Temporal dev server on TEMPORAL_DEV_PORT (UI on TEMPORAL_UI_PORT,
                  state in TEMPORAL_DEV_DB) and keep it running until Ctrl-C
  --install-only  make sure the Temporal CLI is available (build it with Go if needed),
                  print its path and version, and exit
`;

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function installOnly(log: Logger): Promise<number> {
  const cli = await findOrInstallTemporalCli(log);
  if (cli === null) {
    process.stderr.write(
      `No Temporal CLI found (not on PATH, not in .tools/bin) and no Go >= 1.25 to build it.\n` +
        `Install Go (https://go.dev/dl) and run this again, or put a 'temporal' binary ` +
        `(${TEMPORAL_CLI_VERSION}) on PATH.\n`,
    );
    return 1;
  }
  print(cli);
  print(await getTemporalCliVersion(cli));
  return 0;
}

async function runServer(log: Logger): Promise<number> {
  const config = loadDevConfig();
  if (config.TEMPORAL_ADDRESS) {
    log.warn(
      { TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS },
      'TEMPORAL_ADDRESS is set, so the service will use that server, not this dev server',
    );
  }
  const server = await startTemporalDevServer({
    port: config.TEMPORAL_DEV_PORT,
    uiPort: config.TEMPORAL_UI_PORT,
    dbFile: config.TEMPORAL_DEV_DB,
    namespace: config.TEMPORAL_NAMESPACE,
    retentionDays: config.TEMPORAL_RETENTION_DAYS,
    log,
  });
  print(`Temporal dev server: ${server.address} (namespace ${config.TEMPORAL_NAMESPACE})`);
  print(`Temporal Web UI:     ${server.uiUrl ?? '(headless)'}`);
  print(`State file:          ${config.TEMPORAL_DEV_DB}`);
  print('Press Ctrl-C to stop.');

  const outcome = await new Promise<'signal' | 'exited'>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      // Under `npm run`, one Ctrl-C arrives twice (from the terminal and relayed by tsx); stop()
      // is bounded anyway (SIGKILL after 10 s), so repeats are only acknowledged.
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping the Temporal dev server');
      resolve('signal');
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    void server.exited?.then(() => resolve('exited'));
  });
  if (outcome === 'exited') {
    log.error({ address: server.address }, 'the Temporal dev server stopped unexpectedly');
    return 1;
  }
  await server.stop();
  log.info('Temporal dev server stopped');
  return 0;
}

async function main(): Promise<void> {
  loadDotEnv();
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const unknown = args.filter((arg) => arg !== '--install-only');
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument(s): ${unknown.join(' ')}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const log = createLogger(loadDevConfig().LOG_LEVEL, 'temporal-dev-server');
  process.exitCode = args.includes('--install-only') ? await installOnly(log) : await runServer(log);
}

main().catch((err: unknown) => {
  process.stderr.write(`temporal-dev-server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
