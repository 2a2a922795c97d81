import type { ActivityDeps } from './deps';
import type { DeliveryPage } from './types';

/** A page of an event's deliveries in id order, for the fan-out workflow. */
export function makeListDeliveryPage({ db }: ActivityDeps) {
  return async function listDeliveryPage(input: {
    eventId: string;
    afterDeliveryId: string | null;
    limit: number;
  }): Promise<DeliveryPage> {
    const query = db('deliveries').select('id', 'endpoint_id', 'workflow_id').where({ event_id: input.eventId });
    if (input.afterDeliveryId) query.andWhere('id', '>', input.afterDeliveryId);
    const rows: Array<{ id: string; endpoint_id: string; workflow_id: string }> = await query.orderBy('id').limit(input.limit);
    return {
      deliveries: rows.map((r) => ({ deliveryId: r.id, endpointId: r.endpoint_id, workflowId: r.workflow_id })),
      lastDeliveryId: rows.at(-1)?.id ?? null,
    };
  };
}
