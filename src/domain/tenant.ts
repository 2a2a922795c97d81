/**
 * A tenant is one customer of the platform: every endpoint, event, key and audit entry belongs to
 * exactly one. These words are shared by the API, the services and the database.
 */

/** Tenant ids: lowercase letters, digits, `_` and `-`, 1 to 64 characters (as `DEFAULT_TENANT_ID`). */
export const TENANT_ID_PATTERN = /^[a-z0-9_-]{1,64}$/;

/**
 * `active`: works. `disabled`: its credentials answer 403 `tenant_disabled` and nothing new is
 * accepted, data and deliveries already accepted stay. `deleting`: its credentials no longer
 * resolve; its deliveries are being stopped and its data removed, then the tenant is gone.
 */
export const TENANT_STATES = ['active', 'disabled', 'deleting'] as const;
export type TenantState = (typeof TENANT_STATES)[number];

/** Bounds of a tenant's `metadata`, a string map (Stripe's limits). */
export const METADATA_MAX_KEYS = 50;
export const METADATA_KEY_MAX_LENGTH = 40;
export const METADATA_VALUE_MAX_LENGTH = 500;

/**
 * How long a tenant's deliveries, their attempts and their events are kept, days (the tenant's
 * `retention_days` setting); then the housekeeping schedule purges them.
 */
export const DEFAULT_RETENTION_DAYS = 30;
export const MAX_RETENTION_DAYS = 3650;
