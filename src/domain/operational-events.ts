/**
 * Operational webhooks: events the service itself raises about a tenant's endpoints, deliveries
 * and keys, sent to the tenant's *operational* endpoints only (Svix's "operational webhooks").
 * They are built in: every tenant's catalog lists them with their JSON Schemas, and no tenant may
 * ingest or define them. Nothing here carries a secret: endpoints are named by id, name and the
 * URL as shown (masked when it carries a secret), keys by id.
 */

/** What an endpoint is for: `standard` receives the tenant's events, `operational` the service's events about them. */
export const ENDPOINT_KINDS = ['standard', 'operational'] as const;
export type EndpointKind = (typeof ENDPOINT_KINDS)[number];

/** Shares of `ENDPOINT_DISABLE_AFTER_SECONDS` a failure streak crosses that each send one `endpoint.failing`. */
export const FAILING_ALERT_PERCENTS = [50, 70, 90, 100] as const;

type JsonSchema = Record<string, unknown>;

const str = { type: 'string' };
const nullableStr = { type: ['string', 'null'] };
const time = { type: 'string', format: 'date-time' };
const nullableTime = { type: ['string', 'null'], format: 'date-time' };
const int = { type: 'integer' };
const nullableInt = { type: ['integer', 'null'] };

/** How every endpoint-level event names its endpoint. */
const endpointFields = {
  endpoint_id: str,
  endpoint_name: nullableStr,
  /** The URL as the API shows it: masked when it carries a secret. */
  endpoint_url: str,
};

function objectSchema(properties: Record<string, unknown>): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    additionalProperties: false,
    required: Object.keys(properties),
    properties,
  };
}

const ep = { endpoint_id: 'ep_01jf3w7v2f0d9c8b7a6z5y4x3w', endpoint_name: 'orders', endpoint_url: 'https://example.com/hooks' };

/** The catalog entry of each operational event type. */
export const OPERATIONAL_EVENT_TYPES = {
  'endpoint.disabled': {
    description: 'The service switched an endpoint off: a 410 Gone, or no successful attempt for ENDPOINT_DISABLE_AFTER_SECONDS.',
    schema: objectSchema({ ...endpointFields, reason: str, failing_since: nullableTime, disabled_at: time }),
    example: { ...ep, reason: 'the receiver answered 410 Gone', failing_since: null, disabled_at: '2026-01-01T00:00:00.000Z' },
  },
  'endpoint.failing': {
    description:
      'An endpoint has had no successful attempt for 50, 70, 90 or 100 % of ENDPOINT_DISABLE_AFTER_SECONDS (once per share and failure streak; 100 % is when it is disabled).',
    schema: objectSchema({
      ...endpointFields,
      percent: { type: 'integer', enum: [...FAILING_ALERT_PERCENTS] },
      failing_since: time,
      disable_after_seconds: int,
      last_delivery_id: str,
      last_response_status: nullableInt,
      last_error_class: nullableStr,
    }),
    example: { ...ep, percent: 50, failing_since: '2026-01-01T00:00:00.000Z', disable_after_seconds: 432000, last_delivery_id: 'dlv_01jf3w7v2f0d9c8b7a6z5y4x3w', last_response_status: 503, last_error_class: 'http_5xx' },
  },
  'delivery.exhausted': {
    description: 'A delivery ended in the dead letter: its retries ran out, or its receiver answered with a failure that is not retried.',
    schema: objectSchema({ ...endpointFields, delivery_id: str, event_id: str, event_type: str, attempts: int, last_response_status: nullableInt, last_error_class: nullableStr }),
    example: { ...ep, delivery_id: 'dlv_01jf3w7v2f0d9c8b7a6z5y4x3w', event_id: 'evt_01jf3w7v2f0d9c8b7a6z5y4x3w', event_type: 'order.created', attempts: 8, last_response_status: 503, last_error_class: 'http_5xx' },
  },
  'delivery.recovered': {
    description: 'A delivery that had ended in the dead letter was redelivered and succeeded.',
    schema: objectSchema({ ...endpointFields, delivery_id: str, event_id: str, event_type: str, attempt: int, recovered_at: time }),
    example: { ...ep, delivery_id: 'dlv_01jf3w7v2f0d9c8b7a6z5y4x3w', event_id: 'evt_01jf3w7v2f0d9c8b7a6z5y4x3w', event_type: 'order.created', attempt: 9, recovered_at: '2026-01-01T00:00:00.000Z' },
  },
  'endpoint.circuit_opened': {
    description: "An endpoint's circuit opened after failure_threshold consecutive failed attempts: its deliveries wait, then one probe attempt goes out.",
    schema: objectSchema({ ...endpointFields, consecutive_failures: int, failure_threshold: int, opened_at: time, next_probe_at: time }),
    example: { ...ep, consecutive_failures: 5, failure_threshold: 5, opened_at: '2026-01-01T00:00:00.000Z', next_probe_at: '2026-01-01T00:01:00.000Z' },
  },
  'endpoint.circuit_closed': {
    description: "An endpoint's circuit closed: an attempt succeeded (the probe), and its deliveries go out again.",
    schema: objectSchema({ ...endpointFields, opened_at: nullableTime, closed_at: time }),
    example: { ...ep, opened_at: '2026-01-01T00:00:00.000Z', closed_at: '2026-01-01T00:01:00.000Z' },
  },
  'key.rotated': {
    description: 'A signing key was rotated: the new key signs from now on, the old ones co-sign (and verify) until grace_expires_at.',
    schema: objectSchema({ scope_type: { type: 'string', enum: ['endpoint', 'source'] }, scope_id: str, new_key_id: str, old_key_ids: { type: 'array', items: str }, trigger: str, grace_expires_at: nullableTime }),
    example: { scope_type: 'endpoint', scope_id: 'ep_01jf3w7v2f0d9c8b7a6z5y4x3w', new_key_id: 'key_01jf3w7v2f0d9c8b7a6z5y4x3w', old_key_ids: ['key_01jf3w7v2f0d9c8b7a6z5y4x3v'], trigger: 'manual', grace_expires_at: '2026-01-02T00:00:00.000Z' },
  },
  'key.expiring': {
    description: 'Keys in their grace period stop signing and verifying at expires_at (sent KEY_EXPIRING_NOTICE_SECONDS before, or at once for a shorter grace).',
    schema: objectSchema({ scope_type: { type: 'string', enum: ['endpoint', 'source'] }, scope_id: str, key_ids: { type: 'array', items: str }, expires_at: time }),
    example: { scope_type: 'endpoint', scope_id: 'ep_01jf3w7v2f0d9c8b7a6z5y4x3w', key_ids: ['key_01jf3w7v2f0d9c8b7a6z5y4x3v'], expires_at: '2026-01-02T00:00:00.000Z' },
  },
} as const satisfies Record<string, { description: string; schema: JsonSchema; example: Record<string, unknown> }>;

export type OperationalEventType = keyof typeof OPERATIONAL_EVENT_TYPES;

/** The category operational event types are listed under in the catalog. */
export const OPERATIONAL_CATEGORY = 'operational';

/** True for the service's own event types, which only operational endpoints receive. */
export function isOperationalEventType(type: string): type is OperationalEventType {
  return Object.hasOwn(OPERATIONAL_EVENT_TYPES, type);
}

/**
 * The shares of the disable threshold a failure streak has crossed and not yet reported, in
 * order: those above `alreadySent`, up to the share `failingSince` reaches by `now`. Empty when
 * the endpoint is healthy or the service never disables endpoints (`disableAfterSeconds` 0).
 */
export function failingAlertsDue(failingSince: Date | null, disableAfterSeconds: number, alreadySent: number, now: Date): number[] {
  if (!failingSince || disableAfterSeconds <= 0) return [];
  const percent = ((now.getTime() - failingSince.getTime()) / (disableAfterSeconds * 1000)) * 100;
  return FAILING_ALERT_PERCENTS.filter((p) => p > alreadySent && p <= percent);
}
