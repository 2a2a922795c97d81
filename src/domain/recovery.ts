/**
 * A recovery redelivers every failed delivery (a dead letter) of one endpoint created in a time
 * window. These words are shared by the API, the recovery workflow and the database.
 */

export const RECOVERY_STATES = ['running', 'completed', 'cancelled', 'failed'] as const;
export type RecoveryState = (typeof RECOVERY_STATES)[number];

/** How far a recovery got: what its workflow notes once a page. */
export interface RecoveryProgress {
  /** Failed deliveries in the window: counted at the start, grown if more turn up while paging. */
  found: number;
  /** Started again (or, in a FIFO line, sent again in their place). */
  redelivered: number;
  /** Found failed but not redelivered: already running again, or succeeded meanwhile. */
  skipped: number;
}


/**
 * Where a page of a recovery starts: after a delivery's creation time (exact, as text: a JS Date
 * drops microseconds) and id, or, in a FIFO line, after its sequence number.
 */
export type RecoveryCursor = { createdAt: string; id: string } | { sequence: number } | null;
