import { countRecoveredDelivery } from '../src/db/recoveries-repo';
import type { ActivityDeps } from './deps';
import type { AttemptIn } from './types';

/**
 * A delivery that had failed (a dead letter) was sent again, by a redelivery or a recovery, and
 * this time it delivered. Called once per such success, after its attempt is stored. The hook
 * for the `delivery.recovered` operational webhook; today it logs and counts the success on the
 * recovery that redelivered it.
 */
export async function deliveryRecovered(deps: Pick<ActivityDeps, 'db' | 'log'>, input: AttemptIn): Promise<void> {
  deps.log.info({ deliveryId: input.deliveryId, endpointId: input.endpointId, attempt: input.attempt, recoveryId: input.recoveryId ?? null }, 'delivery recovered');
  if (input.recoveryId) await countRecoveredDelivery(deps.db, input.tenantId, input.recoveryId);
}

/** A success of a run that redelivered the delivery (its attempts continue after earlier runs'). */
export function isRecovery(input: AttemptIn): boolean {
  return (input.firstAttempt ?? 1) > 1;
}
