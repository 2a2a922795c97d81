import type { AttemptDeliveryState, AttemptResult } from '../src/domain/delivery';
import type { DeliveryIn } from '../src/temporal/delivery-workflows';

/** What a delivery needs to know before its first attempt. */
export interface DeliveryPlan {
  /** False when the endpoint was deleted or deactivated before the delivery began. */
  active: boolean;
  delaysMs: number[];
  jitter: number;
  timeoutMs: number;
  retryAfterMaxMs: number;
}

export interface AttemptIn extends DeliveryIn {
  attempt: number;
}

export interface SignIn extends AttemptIn {
  /** The attempt already holds a send slot under the endpoint's rate limit (it waited for it). */
  slotReserved?: boolean;
}

/**
 * Headers of one attempt: signature headers plus delivery metadata. Never a secret. With
 * `waitMs`, the endpoint's rate limit put this attempt's slot that far ahead: nothing was signed,
 * the workflow waits and asks again with `slotReserved`. Empty headers without `waitMs`: the
 * endpoint's template could not be rendered for this event, so nothing was signed (and
 * `sendWebhook` sends nothing).
 */
export interface SignOut {
  headers: Record<string, string>;
  keyIds: string[];
  /** SHA-256 (hex) of a rendered body the headers sign; `sendWebhook` refuses to send other bytes. */
  bodyDigest?: string;
  waitMs?: number;
  /** With `waitMs`: the slot reserved (epoch µs), given back with `releaseSendSlot` if not used. */
  slotMicros?: number;
  /** With `waitMs`: nothing was reserved (the backlog is past the cap); sign again without `slotReserved`. */
  unreserved?: true;
}

export interface ReleaseSlotIn {
  tenantId: string;
  endpointId: string;
  slotMicros: number;
}

export interface SendIn extends AttemptIn {
  headers: Record<string, string>;
  timeoutMs: number;
  /** From {@link SignOut.bodyDigest}: the body must still render to the signed bytes. */
  bodyDigest?: string;
}

export interface RecordIn extends AttemptIn {
  result: AttemptResult;
  /** The delivery's state after this attempt. */
  deliveryStatus: AttemptDeliveryState;
}

export interface DeliveryPageIn {
  tenantId: string;
  eventId: string;
  afterDeliveryId: string | null;
  limit: number;
}

export interface DeliveryPage {
  deliveries: Array<{ deliveryId: string; endpointId: string }>;
  lastDeliveryId: string | null;
}
