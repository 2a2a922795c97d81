/**
 * `npm run temporal`: runs the local Temporal dev server (SQLite file, Web UI) with the project's
 * search attributes registered, until Ctrl-C / SIGTERM.
 * `npm run temporal:install`: only makes sure the Temporal CLI is there (finds it, or builds it with
 * `go install` into `.tools/bin`), prints its path and version.
 */
import { loadDevConfig } from '../src/config';
import type { Logger } from '../src/logger';
import { print, serverScript, serveUntilStopped } from '../src/dev/server-script';
import { startTemporalDevServer } from '../src/dev/temporal-dev-server';
import { findOrInstallTemporalCli, getTemporalCliVersion, TEMPORAL_CLI_VERSION } from '../src/dev/temporal-cli';

const USAGE = `usage: tsx scripts/temporal-dev-server.ts [--install-only]

  (no option)     start the Temporal dev server on TEMPORAL_DEV_PORT (UI on TEMPORAL_UI_PORT,
                  state in TEMPORAL_DEV_DB) and keep it running until Ctrl-C
  --install-only  make sure the Temporal CLI is available (build it with Go if needed),
                  print its path and version, and exit
`;

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

  return serveUntilStopped(server, 'the Temporal dev server', log);
}

serverScript('temporal-dev-server', USAGE, { install: installOnly, run: runServer });
