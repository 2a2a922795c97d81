/** A keyring: an endpoint's signing keys, or an inbound source's verification keys. */
export interface KeyScope {
  type: 'endpoint' | 'source';
  id: string;
}

/** A key's life: generated (`pending`) → `active` → `grace` (still signs and verifies) → `retired`. */
export type KeyState = 'pending' | 'active' | 'grace' | 'retired';

/** What started a rotation (recorded in telemetry and audit). */
export type RotationTrigger = 'manual' | 'schedule' | 'usage';

/** Grace period bounds (seconds): default 24 h, at most 7 days. */
export const DEFAULT_GRACE_SECONDS = 24 * 60 * 60;
export const MAX_GRACE_SECONDS = 7 * 24 * 60 * 60;
