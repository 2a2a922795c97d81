import { activityInfo, Context } from '@temporalio/activity';
import { listDeliveryPage, listUndispatchedEvents, markDispatched } from '../src/db/events-repo';
import { dispatchDeliveries, INLINE_FAN_OUT_MAX } from '../src/temporal/delivery-workflows';
import type { ActivityDeps } from './deps';

/** Events read per query. */
const BATCH = 100;
/** A run stops taking new batches after this long, well inside its start-to-close timeout. */
const RUN_BUDGET_MS = 60_000;

export interface DispatchStoredOut {
  /** Events whose deliveries this run started (or found started) and marked dispatched. */
  dispatched: number;
  /** More were waiting when the run's time was up: the next run goes on. */
  more: boolean;
}

/**
 * The outbox sweep: starts the deliveries of events stored more than `OUTBOX_GRACE_SECONDS` ago
 * whose dispatch never completed (the API stopped between storing and starting them, or Temporal
 * was down and the client never came back with its Idempotency-Key), then marks them dispatched.
 * Starts go through the delivery workflow ids (and the fan-out workflow's for many deliveries),
 * so a delivery already started is never started twice; safe to run anywhere, any number of times.
 */
export function makeDispatchStoredEvents({ db, log, config }: ActivityDeps) {
  return async function dispatchStoredEvents(): Promise<DispatchStoredOut> {
    const context = Context.current();
    const { taskQueue } = activityInfo();
    const started = Date.now();
    let dispatched = 0;
    for (;;) {
      const events = await listUndispatchedEvents(db, config.OUTBOX_GRACE_SECONDS, BATCH);
      for (const event of events) {
        // One more than the inline maximum is enough to choose between direct starts and a fan-out.
        const deliveries = await listDeliveryPage(db, event.tenant_id, event.id, null, INLINE_FAN_OUT_MAX + 1);
        if (deliveries.length > 0) {
          await dispatchDeliveries(context.client, taskQueue, { tenantId: event.tenant_id, eventId: event.id, eventType: event.type }, deliveries);
        }
        await markDispatched(db, event.id);
        dispatched++;
        context.heartbeat(dispatched);
      }
      const more = events.length === BATCH;
      if (!more || Date.now() - started > RUN_BUDGET_MS) {
        if (dispatched > 0) log.warn({ dispatched, more }, 'outbox: dispatched stored events whose deliveries had not been started');
        return { dispatched, more };
      }
    }
  };
}
