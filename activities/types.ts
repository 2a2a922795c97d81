import type { AttemptDeliveryState, AttemptResult } from '../src/domain/delivery';
import type { DeliveryIn, DisplayedEndpoint } from '../src/temporal/delivery-workflows';

/** One attempt of a delivery, made in one step (`deliverAttempt`). */
export interface DeliverAttemptIn extends AttemptIn {
  /** The attempt already holds a send slot under the endpoint's rate limit (it waited for it). */
  slotReserved?: boolean;
  /**
   * Send nothing: answer the attempt an earlier run of this step stored, or `unsent`. Asked by a
   * delivery cancelled before its step could run (version `STEP_WAITS_ON_CANCEL`).
   */
  storedOnly?: boolean;
  /**
   * This step has not run before: the run's first workflow task asks for it, not a replay, so
   * it may take what ingest handed over for the first attempt instead of reading the database
   * (`takeHandoff`).
   */
  fresh?: boolean;
}

/**
 * What one attempt step did:
 * - `wait`: the endpoint's rate limit put this attempt's send slot `waitMs` ahead, or its circuit
 *   is open; nothing was sent; the workflow waits durably, then asks again (with `slotReserved`
 *   when a slot was reserved);
 * - `stopped`: the endpoint was switched off or deleted before this run sent anything;
 * - `unsent`: asked with `storedOnly`, and no earlier run of the step stored this attempt;
 * - `attempted`: the request was made (or refused before leaving, with the reason as its error
 *   class), and the delivery's state after it, with the wait before the next attempt when it is
 *   `retrying`. `recorded: false`: the attempt could not be stored; the workflow stores it.
 *   `summary` and `target` are absent in histories written before runs described their attempts.
 */
export type AttemptStep =
  | {
      kind: 'wait';
      waitMs: number;
      /** The slot reserved (epoch µs), given back with `releaseSendSlot` if the delivery stops waiting. */
      slotMicros?: number;
      /** Nothing was reserved (the backlog is past the cap): ask again without `slotReserved`. */
      unreserved?: true;
      /** `circuit`: the endpoint's circuit is open (or another attempt probes it); absent: its rate limit. */
      reason?: 'circuit';
    }
  | { kind: 'stopped'; reason: string }
  | { kind: 'unsent' }
  | {
      kind: 'attempted';
      attempt: number;
      result: AttemptResult;
      deliveryStatus: AttemptDeliveryState;
      retryInMs: number | null;
      recorded: boolean;
      /** The attempt in words, for the Web UI: `POST host/path answered 503 Service Unavailable in 12 ms`. */
      summary?: string;
      /** The receiver as operators see it now (the endpoint's URL may have changed since the start). */
      target?: string;
    };

/** What a delivery needs to know before its first attempt (deliveries started before the one-step attempt). */
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

/** The attempt recorded (empty in the histories of deliveries started before the one-step attempt). */
export interface RecordOut {
  attempt: number;
  result: AttemptResult;
}

export interface DeliveryPageIn {
  tenantId: string;
  eventId: string;
  afterDeliveryId: string | null;
  limit: number;
}

export interface DeliveryPage {
  /** `endpoint` is absent in the histories of fan-outs started before runs showed their receiver. */
  deliveries: Array<{ deliveryId: string; endpointId: string; endpoint?: DisplayedEndpoint; sequence?: number | null }>;
  lastDeliveryId: string | null;
}
