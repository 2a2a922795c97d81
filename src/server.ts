import { startApi } from './api/start-api';
import { closeServer, configuredTemporalAddress, SHUTDOWN_GRACE_MS, onShutdown, openStorage, reportHeapSizing } from './bootstrap';
import { loadConfig, loadDotEnv, startRelayUrls } from './config';
import { createLogger } from './logger';
import { createMetrics } from './metrics';
import { connectClient } from './temporal/client';
import { directStarts } from './temporal/delivery-workflows';
import { relayedStarts } from './temporal/start-relay';
import { startTracing } from './tracing';

/** The API process (production: scale it separately from workers). */
async function main() {
  loadDotEnv();
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, 'api');
  reportHeapSizing(log);
  const tracing = startTracing(config);
  const { db, box } = await openStorage(config, log);
  const temporal = await connectClient(config, configuredTemporalAddress(config), tracing);
  // One registry for the API's own metrics and its start relay's.
  const metrics = createMetrics();
  // WORKER_START_URLS: deliveries start eagerly on the workers, through their start relays.
  const relay = config.WORKER_START_URLS
    ? relayedStarts({
        urls: startRelayUrls(config),
        token: config.WORKER_START_TOKEN!,
        timeoutMs: config.WORKER_START_TIMEOUT_MS,
        inFlight: config.WORKER_START_IN_FLIGHT,
        fallback: directStarts(temporal, config.TEMPORAL_TASK_QUEUE),
        log,
        onRequest: (starts, answered) => metrics.observeRelayRequest(starts, answered),
      })
    : null;
  const { server, url } = await startApi({ config, db, box, temporal, startDeliveries: relay?.start ?? null, log, tracing, metrics });
  log.info({ url }, 'api listening');
  onShutdown(log, async () => {
    await closeServer(server, SHUTDOWN_GRACE_MS);
    await relay?.close();
    await temporal.connection.close();
    await db.destroy();
    await tracing?.shutdown();
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
