/**
 * Worker of the bench's "floor-regular" run (the floor before issue 11: a regular activity,
 * workflows started by the bench's own client), in its own process: `floorWorkflow` on
 * TEMPORAL_TASK_QUEUE, with the same concurrency limits and log level as the service worker.
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { Agent } from 'undici';
import { loadConfig } from '../../src/config';
import { workerCapacity } from '../../src/temporal/worker-capacity';
import { LeanWorker, sandboxOptions } from '../../src/temporal/lean-worker';
import { createFloorActivities, FLOOR_WORKFLOWS } from './floor-activities';

async function main(): Promise<void> {
  const config = loadConfig();
  const level = config.LOG_LEVEL === 'silent' || config.LOG_LEVEL === 'fatal' ? 'ERROR' : config.LOG_LEVEL;
  Runtime.install({ logger: new DefaultLogger(level.toUpperCase() as 'WARN') });
  const address = config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_DEV_PORT}`;
  const connection = await NativeConnection.connect({ address });
  const http = new Agent({ connect: { timeout: 2_000 }, keepAliveTimeout: 10_000 });
  const worker = await LeanWorker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ...FLOOR_WORKFLOWS,
    activities: createFloorActivities(http),
    ...workerCapacity(config),
    ...sandboxOptions(config),
  });
  const stop = () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await worker.run();
  await http.close();
  await connection.close();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
