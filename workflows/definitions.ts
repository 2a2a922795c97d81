import { defineQuery, defineSignal } from '@temporalio/workflow';

/** Ids only: everything else (body, secret, URL) is loaded inside activities. */
export interface DeliveryIn {
  tenantId: string;
  deliveryId: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  /** Number of the first attempt: a redelivery continues the count of the runs before it. */
  firstAttempt?: number;
}

export type DeliveryState = 'pending' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';

export interface DeliveryOut {
  status: DeliveryState;
  attempts: number;
  lastResponseStatus: number | null;
  reason: string | null;
}

export interface DeliveryStatusView extends DeliveryOut {
  nextAttemptAt: string | null;
}

export interface FanOutIn {
  tenantId: string;
  eventId: string;
  eventType: string;
  /** Deliveries with ids greater than this one are still to start (continue-as-new paging). */
  afterDeliveryId: string | null;
}

export const statusQuery = defineQuery<DeliveryStatusView>('status');
export const cancelSignal = defineSignal<[{ reason?: string }?]>('cancel');

/** Workflow id of an event's fan-out. */
export function fanOutWorkflowId(eventId: string): string {
  return `fanout-${eventId}`;
}
