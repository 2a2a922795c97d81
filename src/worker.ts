import { applyHeapGrowth, reportHeapSizing, closeServer, configuredTemporalAddress, onShutdown, openStorage, startMetricsServer } from './bootstrap';
import { loadConfig, loadDotEnv } from './config';
import { createLogger } from './logger';
import { createMetrics } from './metrics';
import { connectClient, eagerStarts } from './temporal/client';
import { startRelayServer } from './temporal/start-relay';
import { ensureHousekeepingSchedule } from './temporal/housekeeping-schedule';
import { createWorker, drainWorkerBeside, workerInFlight } from './temporal/worker';
import { startTracing } from './tracing';

/** The worker process: runs delivery workflows and their activities. */
async function main() {
  loadDotEnv();
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, 'worker');
  applyHeapGrowth(config, log);
  reportHeapSizing(log);
  const tracing = startTracing(config);
  const { db, box } = await openStorage(config, log);
  const address = configuredTemporalAddress(config);
  const metrics = createMetrics();
  const { worker, connection, slots, close } = await createWorker({ config, address, db, box, log, metrics, tracing });
  // The API's delivery starts, made eagerly on this worker (WORKER_START_PORT).
  const relay = config.WORKER_START_PORT
    ? await startRelayServer({
        start: eagerStarts(config, connection, slots, tracing),
        host: config.HOST,
        port: config.WORKER_START_PORT,
        token: config.WORKER_START_TOKEN!,
        log,
        onStarted: (seconds) => metrics.observeIngestPart('relayed', seconds),
      })
    : null;
  // No API in this process, so the scraper gets a port of its own (0 turns it off).
  const metricsServer = config.WORKER_METRICS_PORT
    ? await startMetricsServer(metrics, config.HOST, config.WORKER_METRICS_PORT, config.METRICS_TOKEN)
    : null;
  const client = await connectClient(config, address);
  await ensureHousekeepingSchedule(client, { taskQueue: config.TEMPORAL_TASK_QUEUE, intervalSeconds: config.HOUSEKEEPING_INTERVAL_SECONDS }, log);
  await client.connection.close();
  const running = worker.run();
  onShutdown(log, async () => {
    // The API's starts go elsewhere (another worker, or its own client) while this one drains:
    // its running attempts finish and are recorded before it exits. The relay closes alongside,
    // not before, so the whole stop stays within WORKER_SHUTDOWN_FORCE_MS.
    await drainWorkerBeside(relay?.server ?? null, worker, running, config.WORKER_SHUTDOWN_FORCE_MS);
    if (metricsServer) await closeServer(metricsServer.server);
    await close();
    await db.destroy();
    await tracing?.shutdown();
  });
  log.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, metrics: metricsServer ? `${metricsServer.url}/metrics` : null, startRelay: relay?.url ?? null }, 'worker running');
  // It ends on its own only when it fails; a signal's shutdown exits through onShutdown.
  await running.catch((err) => {
    log.fatal({ err, inFlight: workerInFlight(worker) }, 'worker stopped');
    process.exit(1);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
