/**
 * The bench's step process: the delivery step alone (`deliverAttempt`, the local activity that
 * prepares, signs, sends and records one attempt), called directly, without Temporal, next to the
 * floor's activity (`postJson`: the same body POSTed to the same receiver with undici). Both run
 * in this one process, as the bench tells it over IPC, so the bench can read this process's CPU
 * around each round and the step's cost beside the least an activity that delivers can cost.
 * Deliveries are stored by ingest's own statement (an event and its delivery row), so each step
 * reads and records what a first attempt does in the service.
 */
import { Agent } from 'undici';
import { createActivities } from '../../activities';
import { openStorage } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import { SCOPES } from '../../src/domain/scopes';
import { OutboundDispatchers } from '../../src/http/dispatchers';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import { egressPolicy } from '../../src/security/egress';
import { createEndpoint } from '../../src/services/endpoints';
import { insertEventWithDeliveries } from '../../src/db/events-repo';
import { newDeliveries } from '../../src/services/ingest';
import { SUCCESS_BY_CLOSE, type DeliveryIn } from '../../src/temporal/delivery-workflows';
import { createFloorActivities } from './floor-activities';
import { sameSizeBody } from './floor';
import type { FromStep, ToStep } from './step-protocol';
import { BENCH_EVENT_TYPE } from './payload';
import { runPool } from './stats';

function reply(message: FromStep): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('the step process runs under the bench, with an IPC channel');
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  const { db, box } = await openStorage(config, log);
  let queries = 0;
  db.on('query', () => queries++);
  const egress = egressPolicy(config);
  const outbound = new OutboundDispatchers({ egress, connectTimeoutMs: config.DELIVERY_TIMEOUT_MS, proxyUrl: config.EGRESS_PROXY_URL });
  const { deliverAttempt } = createActivities({ db, box, log: log.child({ component: 'activity' }), metrics: createMetrics(), outbound, egress, config });
  // The floor process's own agent settings.
  const http = new Agent({ connect: { timeout: 2_000 }, keepAliveTimeout: 10_000 });
  const { postJson } = createFloorActivities(http);
  const tenantId = config.DEFAULT_TENANT_ID;
  const caller = { tenantId, actor: 'bench-step', scopes: new Set(SCOPES), traceId: 'bench-step' };

  let endpoint: { id: string; url: string } | null = null;
  const prepared: Array<{ input: DeliveryIn; body: string }> = [];
  const used = { step: 0, floor: 0 };

  const prepare = async (url: string, count: number) => {
    endpoint ??= { id: (await createEndpoint({ db, box, config }, caller, { url, events: [BENCH_EVENT_TYPE] })).endpoint.id, url };
    // Stored by ingest's own statement (an event and its delivery), several at a time.
    const stored = await runPool(count, 8, async (i) => {
      const { id, body } = sameSizeBody(prepared.length + i);
      const { deliveries } = await insertEventWithDeliveries(db, tenantId, { id, type: BENCH_EVENT_TYPE, body, idempotencyKey: null }, newDeliveries(id, [endpoint!.id]));
      const input: DeliveryIn = { tenantId, deliveryId: deliveries[0]!.id, eventId: id, endpointId: endpoint!.id, eventType: BENCH_EVENT_TYPE, version: SUCCESS_BY_CLOSE };
      return { input, body };
    });
    prepared.push(...stored);
  };

  const round = async (kind: 'step' | 'floor', count: number, concurrency: number) => {
    const first = used[kind];
    if (first + count > prepared.length) throw new Error(`${count} ${kind} calls asked for, ${prepared.length - first} prepared`);
    used[kind] += count;
    let failed = 0;
    const before = queries;
    const cpu = process.cpuUsage();
    await runPool(count, concurrency, async (i) => {
      const { input, body } = prepared[first + i]!;
      if (kind === 'floor') {
        await postJson({ url: endpoint!.url, id: input.eventId, body }).catch(() => failed++);
        return;
      }
      const step = await deliverAttempt({ ...input, attempt: 1, slotReserved: false });
      if (step.kind !== 'attempted' || step.result.outcome !== 'succeeded') failed++;
    });
    const spent = process.cpuUsage(cpu);
    return { queries: queries - before, failed, cpuMs: (spent.user + spent.system) / 1000 };
  };

  process.on('message', (message: ToStep) => {
    const work = message.type === 'prepare' ? prepare(message.url, message.count).then(() => ({ type: 'prepared' as const, tag: message.tag })) : round(message.kind, message.count, message.concurrency).then((done) => ({ type: 'done' as const, tag: message.tag, ...done }));
    work.then(reply, (err: unknown) => reply({ type: 'failed', tag: message.tag, message: err instanceof Error ? err.message : String(err) }));
  });
  const stop = () => {
    void Promise.allSettled([http.close(), outbound.close(), db.destroy()]).finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);
  reply({ type: 'ready' });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
