import type { ActivityDeps } from './deps';
import { storeAttemptAndEffects } from './stored-attempt';
import type { RecordIn, RecordOut } from './types';

/**
 * Stores an attempt for aggregates, keeps the endpoint's health, counts the attempt in the
 * metrics and logs it. The delivery step records its own attempt in the same statement that
 * keeps the health; this activity records an attempt that step could not (a database outage
 * right after a send, or a step that kept failing), and the attempts of deliveries started
 * before the one-step attempt.
 */
export function makeRecordAttempt(deps: ActivityDeps) {
  const { log } = deps;
  return async function recordAttempt(input: RecordIn): Promise<RecordOut> {
    const { result } = input;
    await storeAttemptAndEffects(deps, input, { result, deliveryStatus: input.deliveryStatus, keyIds: [] });
    log.info(
      { deliveryId: input.deliveryId, endpointId: input.endpointId, eventId: input.eventId, attempt: input.attempt, outcome: result.outcome, status: result.responseStatus, durationMs: result.durationMs, errorClass: result.errorClass },
      'delivery attempt',
    );
    // Echoed so the workflow's history holds this attempt too (the delivery log reads it there).
    return { attempt: input.attempt, result };
  };
}
