import { startApi } from './api/start-api';
import { closeServer, configuredTemporalAddress, onShutdown, openStorage } from './bootstrap';
import { loadConfig, loadDotEnv } from './config';
import { createLogger } from './logger';
import { connectClient } from './temporal/client';
import { startTracing } from './tracing';

/** The API process (production: scale it separately from workers). */
async function main() {
  loadDotEnv();
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, 'api');
  const tracing = startTracing(config);
  const { db, box } = await openStorage(config, log);
  const temporal = await connectClient(config, configuredTemporalAddress(config), tracing);
  const { server, url } = await startApi({ config, db, box, temporal, log, tracing });
  log.info({ url }, 'api listening');
  onShutdown(log, async () => {
    await closeServer(server);
    await temporal.connection.close();
    await db.destroy();
    await tracing?.shutdown();
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
