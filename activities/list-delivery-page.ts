import { listDeliveryPage as readPage } from '../src/db/events-repo';
import type { ActivityDeps } from './deps';
import type { DeliveryPage, DeliveryPageIn } from './types';

/** A page of an event's deliveries in id order, for the fan-out workflow. */
export function makeListDeliveryPage({ db }: ActivityDeps) {
  return async function listDeliveryPage(input: DeliveryPageIn): Promise<DeliveryPage> {
    const deliveries = await readPage(db, input.tenantId, input.eventId, input.afterDeliveryId, input.limit);
    return { deliveries, lastDeliveryId: deliveries.at(-1)?.deliveryId ?? null };
  };
}
