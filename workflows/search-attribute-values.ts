import type { SearchAttributePair } from '@temporalio/common';
import { DeliveryStatus, EndpointId, EventId, EventType, TenantId } from '../src/temporal/search-attributes';
import type { DeliveryIn } from './definitions';

/** Search attributes a delivery starts with; DeliveryStatus is then kept current by the workflow. */
export function deliverySearchAttributes(input: DeliveryIn): SearchAttributePair[] {
  return [
    { key: TenantId, value: input.tenantId },
    { key: EndpointId, value: input.endpointId },
    { key: EventType, value: input.eventType },
    { key: EventId, value: input.eventId },
    { key: DeliveryStatus, value: 'pending' },
  ];
}
