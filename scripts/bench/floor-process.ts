/**
 * The bench's floor: the least a Temporal delivery can cost, in ONE process. The client and the
 * worker share one NativeConnection, workflows start eagerly (the server hands the first
 * workflow task back in the start answer, to this very worker), and the workflow's one local
 * activity POSTs the body. The process also generates its own load, as the bench tells it over
 * IPC, so no HTTP ingest is charged to it; it reports each start's times in epoch ms, the clock
 * the bench's receiver uses. Same concurrency limits, slot supplier (starts wait for a free
 * workflow-task slot, as the service's do) and log level as the service worker.
 */
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { Agent } from 'undici';
import { loadConfig } from '../../src/config';
import { EAGER_ROOM_WAIT_MS } from '../../src/temporal/workflow-task-slots';
import { workerCapacity, workflowTaskSlots } from '../../src/temporal/worker-capacity';
import { LeanWorker, sandboxOptions } from '../../src/temporal/lean-worker';
import { createFloorActivities, FLOOR_WORKFLOWS } from './floor-activities';
import type { FromFloor, ToFloor } from './floor-protocol';
import type { floorLocalWorkflow } from './floor-workflows';
import { generateLoad } from './load';
import { BENCH_EVENT_TYPE, BENCH_RETRY_CONFIG } from './payload';
import { newId } from '../../src/ids';
import { attemptStepSummary, deliveryDisplay, deliveryInput, deliverySearchAttributes, endpointTarget } from '../../src/temporal/delivery-workflows';

/** A tenant and an endpoint for the search attributes of shown starts; nothing is stored under them. */
const SHOWN_TENANT = 'bench_visibility';
const SHOWN_ENDPOINT = newId('ep');

/**
 * What the service's start of a delivery adds to a plain start (the visibility run): its search
 * attributes and its static summary and details, made by the service's own functions for a
 * delivery of event `eventId` to the endpoint at `url`.
 */
function shownAsDelivery(eventId: string, url: string) {
  const input = deliveryInput({ tenantId: SHOWN_TENANT, eventId, eventType: BENCH_EVENT_TYPE }, { deliveryId: newId('dlv'), endpointId: SHOWN_ENDPOINT, target: endpointTarget({ url }) });
  const display = deliveryDisplay(input, { url, retryConfig: BENCH_RETRY_CONFIG });
  return { typedSearchAttributes: deliverySearchAttributes(input), staticSummary: display.summary, staticDetails: display.details };
}

function reply(message: FromFloor): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('the floor process runs under the bench, with an IPC channel');
  const config = loadConfig();
  const level = config.LOG_LEVEL === 'silent' || config.LOG_LEVEL === 'fatal' ? 'ERROR' : config.LOG_LEVEL;
  Runtime.install({ logger: new DefaultLogger(level.toUpperCase() as 'WARN') });
  const address = config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_DEV_PORT}`;
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const http = new Agent({ connect: { timeout: 2_000 }, keepAliveTimeout: 10_000 });
  let posted = 0;
  const taskQueue = config.TEMPORAL_TASK_QUEUE;
  const slots = workflowTaskSlots(config);
  const worker = await LeanWorker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue,
    ...FLOOR_WORKFLOWS,
    activities: createFloorActivities(http, () => posted++),
    ...workerCapacity(config, slots),
    ...sandboxOptions(config),
  });

  process.on('message', (message: ToFloor) => {
    if (message.type === 'posted') {
      reply({ type: 'posted', tag: message.tag, posted });
      return;
    }
    const { tag, plan, url, workflowIdPrefix, items, shown } = message;
    let eager = 0;
    const send = async (index: number): Promise<string> => {
      const { id, body } = items[index]!;
      // As the service's eager starts do: wait for a free slot, so a saturated worker still starts eagerly.
      const room = await slots.room(1, EAGER_ROOM_WAIT_MS);
      const handle = await client.workflow
        .start<typeof floorLocalWorkflow>('floorLocalWorkflow', {
          taskQueue,
          workflowId: `${workflowIdPrefix}${id}`,
          args: [shown ? { url, id, body, summary: attemptStepSummary(endpointTarget({ url }), 1) } : { url, id, body }],
          requestEagerStart: true,
          ...(shown ? shownAsDelivery(id, url) : {}),
        })
        .finally(room.done);
      if (handle.eagerlyStarted) eager++;
      return id;
    };
    generateLoad(plan, send).then(
      ({ samples, maxLagMs }) => reply({ type: 'loaded', tag, samples, maxLagMs, eager }),
      (err: unknown) => reply({ type: 'failed', tag, message: err instanceof Error ? err.message : String(err) }),
    );
  });

  const stop = () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
  const running = worker.run();
  reply({ type: 'ready' });
  await running;
  await http.close();
  await connection.close();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
