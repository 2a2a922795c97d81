import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { DeliveryState } from '../src/domain/delivery';

/** What a delivery workflow returns, and answers to the `status` query while it runs. */
export interface DeliveryOut {
  status: DeliveryState;
  attempts: number;
  lastResponseStatus: number | null;
  reason: string | null;
}

/**
 * The delivery's state as the workflow holds it. When the next attempt is due is not part of it:
 * the delivery log reads that from the pending timers in history, the one source for it.
 */
export const statusQuery = defineQuery<DeliveryOut>('status');
export const cancelSignal = defineSignal<[{ reason?: string }?]>('cancel');

/** The application failure type a delivery that did not deliver ends with (a dead letter, or skipped). */
export const DELIVERY_FAILED = 'DeliveryFailed';

/** The details of a {@link DELIVERY_FAILED} failure: the outcome, for tools that read failures. */
export interface DeliveryFailure {
  reason: string;
  attempts: number;
  responseStatus: number | null;
  errorClass: string | null;
}
