/**
 * A delivery is one event sent to one endpoint, attempt after attempt, until it succeeds, fails
 * for good, or is cancelled. These words are shared by the API, the workflows, the activities and
 * the database.
 */

/**
 * Every state a delivery can be in, as the API shows it. The workflow keeps the first five in
 * its `DeliveryStatus` search attribute; `terminated` is Temporal's own ending (an operator
 * terminated the run), which the workflow cannot record.
 */
export const DELIVERY_STATES = ['pending', 'retrying', 'succeeded', 'failed', 'cancelled', 'terminated'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** The states an attempt can leave its delivery in (attempts never pend or cancel). */
export const ATTEMPT_DELIVERY_STATES = ['retrying', 'succeeded', 'failed'] as const;
export type AttemptDeliveryState = (typeof ATTEMPT_DELIVERY_STATES)[number];

/** How one attempt went: 2xx succeeds; a retryable failure may succeed later; a failure will not. */
export type AttemptOutcome = 'succeeded' | 'retryable' | 'failed';

/** One attempt's result: what the delivery log shows of it. Never a secret, never the request body. */
export interface AttemptResult {
  outcome: AttemptOutcome;
  startedAt: string;
  durationMs: number;
  responseStatus: number | null;
  errorClass: string | null;
  errorMessage: string | null;
  responseExcerpt: string | null;
  /** What the receiver's `Retry-After` asked for, ms (retryable outcomes only). */
  retryAfterMs: number | null;
}
