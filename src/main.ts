import { startApi } from './api/start-api';
import { applyHeapGrowth, reportHeapSizing, onShutdown, openStorage } from './bootstrap';
import { loadDevConfig, loadDotEnv } from './config';
import { DEV_TOKEN_FILE } from './dev-secrets';
import { createLogger } from './logger';
import { createMetrics } from './metrics';
import { connectClient, eagerStarts } from './temporal/client';
import { startTemporalDevServer } from './dev/temporal-dev-server';
import { ensureHousekeepingSchedule } from './temporal/housekeeping-schedule';
import { createWorker, drainWorkerBeside, workerInFlight } from './temporal/worker';
import { egressPolicy } from './security/egress';
import { startTracing } from './tracing';

/**
 * Local all-in-one: a Temporal dev server (unless TEMPORAL_ADDRESS is set), the database
 * (embedded unless DATABASE_URL is set), the API and a worker. Ctrl-C stops them all.
 */
async function main() {
  loadDotEnv();
  const config = loadDevConfig();
  const log = createLogger(config.LOG_LEVEL);
  applyHeapGrowth(config, log);
  reportHeapSizing(log);
  const tracing = startTracing(config);
  const devServer = config.TEMPORAL_ADDRESS
    ? null
    : await startTemporalDevServer({
        port: config.TEMPORAL_DEV_PORT,
        uiPort: config.TEMPORAL_UI_PORT,
        dbFile: config.TEMPORAL_DEV_DB,
        namespace: config.TEMPORAL_NAMESPACE,
        retentionDays: config.TEMPORAL_RETENTION_DAYS,
        log,
        // The API serves the codec; the UI calls it from the browser to show encrypted payloads.
        uiCodecEndpoint: config.TEMPORAL_CODEC_KEY ? `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${config.PORT}/codec` : undefined,
      });
  const address = devServer?.address ?? config.TEMPORAL_ADDRESS!;
  const { db, box } = await openStorage(config, log);
  // One registry: the API's /metrics also serves the worker's metrics (no WORKER_METRICS_PORT here).
  const metrics = createMetrics();
  const { worker, connection, slots, close } = await createWorker({ config, address, db, box, log, metrics, tracing });
  const running = worker.run();
  const temporal = await connectClient(config, address, tracing);
  await ensureHousekeepingSchedule(temporal, { taskQueue: config.TEMPORAL_TASK_QUEUE, intervalSeconds: config.HOUSEKEEPING_INTERVAL_SECONDS }, log);
  // Deliveries start eagerly on this process's worker (EAGER_DELIVERY_START); everything else
  // goes through the API's own client, with its short gRPC retries.
  const startDeliveries = config.EAGER_DELIVERY_START ? eagerStarts(config, connection, slots, tracing) : null;
  const { server, url } = await startApi({ config, db, box, temporal, startDeliveries, log, metrics, tracing });

  const mode =
    config.NODE_ENV === 'production'
      ? 'production'
      : `${config.NODE_ENV} (npm start's default; private destinations ${egressPolicy(config).allowPrivate ? 'allowed' : 'refused'}, local dev token and key in .data/; NODE_ENV=production for production defaults)`;
  const lines = [
    `Mode         ${mode}`,
    `API          ${url}/api/v1`,
    `Temporal     ${address}`,
    devServer?.uiUrl ? `Temporal UI  ${devServer.uiUrl}` : null,
    config.API_TOKEN ? null : `API token    $(cat ${DEV_TOKEN_FILE})`,
    'Ctrl-C stops everything.',
  ].filter(Boolean);
  process.stdout.write(`\n${lines.join('\n')}\n\n`);

  onShutdown(log, async () => {
    // The API's requests in progress finish while the worker drains, not before it: the whole
    // stop stays within WORKER_SHUTDOWN_FORCE_MS.
    await drainWorkerBeside(server, worker, running, config.WORKER_SHUTDOWN_FORCE_MS);
    await close();
    await temporal.connection.close();
    await db.destroy();
    await devServer?.stop();
    await tracing?.shutdown();
  });
  await running.catch((err) => {
    log.fatal({ err, inFlight: workerInFlight(worker) }, 'worker stopped');
    process.exit(1);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
