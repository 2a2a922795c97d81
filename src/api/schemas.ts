import { z } from 'zod';
import { ATTEMPT_DELIVERY_STATES, DELIVERY_STATES } from '../domain/delivery';
import { MAX_COOLDOWN_SECONDS, MAX_FAILURE_THRESHOLD } from '../domain/circuit';
import { ON_EXHAUSTED, ORDERINGS, type HeaderInput } from '../domain/endpoint';
import { ENDPOINT_KINDS } from '../domain/operational-events';
import { MAX_GRACE_SECONDS } from '../domain/keys';
import { MAX_DELAY_LIMIT_MS, MAX_RETRIES_LIMIT } from '../domain/retry-config';
import { ROLES, SCOPES } from '../domain/scopes';
import { DEFAULT_SIGNATURE_SCHEME, keyKindOf, SIGNATURE_SCHEMES } from '../domain/signature-schemes';
import { MAX_RETENTION_DAYS } from '../domain/tenant';
import { templateSchema } from '../integrations/catalog';
import { checkCaBundle, inspectClientCertificate } from '../security/client-tls';
import { secretProblem } from '../security/signing';
import { filtersSchema } from '../services/filters';

/** Event type names: `order.created`, `invoice.paid.v2`. `*` subscribes to all. */
export const eventTypeName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'letters, digits, and _ . : - only');

const EARLIEST_MS = Date.UTC(1970, 0, 1);
const LATEST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * An ISO 8601 date-time with an offset, from 1970 to 9999 (UTC): Temporal's queries take four-digit
 * years only, and defaults computed back from a date (a year of buckets) must stay in Postgres's range.
 */
export const isoTimestamp = () =>
  z.iso.datetime({ offset: true }).refine((d) => {
    const ms = Date.parse(d);
    return ms >= EARLIEST_MS && ms <= LATEST_MS;
  }, 'must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z');

export const resourceId = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}_[0-9a-z]{26}$`), `must be a ${prefix}_ id`);

/** Why an endpoint URL cannot be used, or null: it must be sent exactly as given, to a real port. */
function urlProblem(value: string): string | null {
  // The URL parser drops tabs and line breaks without a word: the stored text would not be what is sent.
  if (/[\p{Cc}\p{Z}]/u.test(value)) return 'must not contain whitespace or control characters (percent-encode them)';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return 'must be an absolute http(s) URL';
  if (url.username !== '' || url.password !== '') {
    return 'must not carry credentials (user:pass@): send them in an Authorization header marked sensitive, e.g. "headers": {"Authorization": {"value": "Basic …", "sensitive": true}}';
  }
  if (url.port === '0') return 'port 0 is not a port a request can reach';
  return null;
}

const httpUrl = z
  .string()
  .max(2048)
  .superRefine((value, ctx) => {
    const problem = urlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** A single-line label (a name): no control characters. */
export const label = (max: number) => z.string().min(1).max(max).regex(/^[^\p{Cc}]*$/u, 'no control characters');

export const retryConfigSchema = z
  .object({
    max_retries: z.number().int().min(0).max(MAX_RETRIES_LIMIT).optional(),
    retry_delay: z.number().int().min(0).max(MAX_DELAY_LIMIT_MS).optional(),
    backoff_multiplier: z.number().min(1).max(10).optional(),
    max_delay: z.number().int().min(0).max(MAX_DELAY_LIMIT_MS).optional(),
    schedule: z.array(z.number().int().min(0).max(MAX_DELAY_LIMIT_MS)).max(MAX_RETRIES_LIMIT).optional(),
    jitter: z.number().min(0).max(1).optional(),
    timeout_ms: z.number().int().min(100).max(120_000).optional(),
  })
  .strict();

/** Headers the service sets itself; an endpoint cannot override them. */
const RESERVED_HEADERS = /^(host|content-length|content-type|user-agent|x-ts|x-nonce|x-signature|x-key-id|x-delivery-id|x-event-id|x-event-type|x-attempt|x-webhook-signature|x-webhook-sequence|webhook-.*)$/i;

/**
 * Headers of the connection, not of the request (RFC 9110 §7.6.1), and ones the HTTP client
 * refuses: sending one would fail every attempt.
 */
export const CONNECTION_HEADERS = /^(connection|keep-alive|upgrade|expect|transfer-encoding|te|trailer|proxy-.*)$/i;

const headerName = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,64}$/, 'a header name (letters, digits, -)')
  .refine((name) => !RESERVED_HEADERS.test(name), 'is set by the service and cannot be overridden')
  .refine((name) => !CONNECTION_HEADERS.test(name), 'is a connection header (hop-by-hop), not one a request can carry');
const headerValue = z.string().max(2048).regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'no control characters');

/** Custom headers: `"value"`, or `{value, sensitive}`; `{sensitive: true}` alone keeps a stored value. */
export const headersSchema = z
  .record(
    headerName,
    z.union([headerValue, z.object({ value: headerValue.optional(), sensitive: z.boolean().default(false) }).strict()]),
  )
  .refine((h) => Object.keys(h).length <= 32, 'at most 32 headers')
  .superRefine((h, ctx) => {
    const seen = new Map<string, string>();
    for (const name of Object.keys(h)) {
      const other = seen.get(name.toLowerCase());
      if (other !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: `the same header as ${other} (names are case-insensitive)` });
      seen.set(name.toLowerCase(), name);
    }
  }) satisfies z.ZodType<Record<string, HeaderInput>>;

/** Runs a check that throws with a reason (never quoting the input) as a zod refinement. */
const checkedBy = (check: (value: never) => unknown) => (value: unknown, ctx: z.RefinementCtx) => {
  try {
    check(value as never);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
};

/** A client certificate (PEM, a chain may follow the leaf) and its unencrypted private key (PEM). */
const clientCertificateSchema = z
  .object({ cert: z.string().min(1).max(64 * 1024), key: z.string().min(1).max(16 * 1024) })
  .strict()
  .superRefine(checkedBy(inspectClientCertificate));

/** PEM certificates of the CAs that alone are trusted for the receiver (pinning). */
const caBundleSchema = z.string().min(1).max(256 * 1024).superRefine(checkedBy(checkCaBundle));

const endpointFields = {
  name: label(128).optional(),
  url: httpUrl,
  /**
   * True: the URL is a secret (sealed at rest, masked in answers) even when it does not look like
   * one. Absent or false: sealed when it carries one (Slack/Discord/Zapier hooks, `?token=`, long
   * random path segments).
   */
  url_sensitive: z.boolean().optional(),
  events: z.array(z.union([z.literal('*'), eventTypeName])).min(1).max(256),
  description: z.string().max(1024).optional(),
  headers: headersSchema.optional(),
  filters: filtersSchema.optional(),
  retry_config: retryConfigSchema.optional(),
  scheme: z.enum(SIGNATURE_SCHEMES).optional(),
  /** Requests per second at most, across all workers. */
  rate_limit: z.number().int().min(1).max(10_000).optional(),
  /** Renders the body from a template (an integration: Slack, custom JSON); absent: the event body as it is. */
  template: templateSchema.optional(),
  /** `fifo`: deliveries go out in ingest order, one at a time. */
  ordering: z.enum(ORDERINGS).optional(),
  /** FIFO only: when the head does not deliver, `skip` it or `block` the line until it is redelivered or skipped. */
  on_exhausted: z.enum(ON_EXHAUSTED).optional(),
  is_active: z.boolean().optional(),
  /** Mutual TLS: presented to receivers that ask for a client certificate. Sealed at rest, never returned. */
  client_certificate: clientCertificateSchema.optional(),
  /** Pins the receiver: its certificate must chain to one of these CAs (the system's are not used). */
  ca_bundle: caBundleSchema.optional(),
  /**
   * Circuit breaking: after `failure_threshold` consecutive failed attempts (0: never) deliveries
   * wait `cooldown_seconds`, then one probe attempt goes out. Absent: the service defaults.
   */
  circuit_breaker: z
    .object({
      failure_threshold: z.number().int().min(0).max(MAX_FAILURE_THRESHOLD),
      cooldown_seconds: z.number().int().min(1).max(MAX_COOLDOWN_SECONDS).optional(),
    })
    .strict()
    .optional(),
};

export const endpointIn = z
  .object({
    ...endpointFields,
    /** `operational`: receives the service's operational events (endpoint.failing, …) only; set at creation. */
    kind: z.enum(ENDPOINT_KINDS).optional(),
    /** Given instead of generated: `whsec_…` for the HMAC schemes, `whsk_…` for `standard-webhooks-v1a`. */
    secret: z.string().max(200).optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    const problem = e.secret === undefined ? null : secretProblem(e.secret, keyKindOf(e.scheme ?? DEFAULT_SIGNATURE_SCHEME));
    if (problem) ctx.addIssue({ code: 'custom', path: ['secret'], message: problem });
  });
export type EndpointIn = z.infer<typeof endpointIn>;

/** PUT: the whole endpoint again (the secret is rotated, not replaced). */
export const endpointPut = z.object(endpointFields).strict();

/** PATCH: any subset; `null` clears an optional field. */
export const endpointPatch = z
  .object({
    name: endpointFields.name.nullable(),
    url: httpUrl.optional(),
    url_sensitive: endpointFields.url_sensitive,
    events: endpointFields.events.optional(),
    description: endpointFields.description.nullable(),
    headers: endpointFields.headers,
    filters: endpointFields.filters.nullable(),
    retry_config: endpointFields.retry_config.nullable(),
    scheme: endpointFields.scheme,
    rate_limit: endpointFields.rate_limit.nullable(),
    template: endpointFields.template.nullable(),
    ordering: endpointFields.ordering,
    on_exhausted: endpointFields.on_exhausted,
    is_active: endpointFields.is_active,
    client_certificate: endpointFields.client_certificate.nullable(),
    ca_bundle: endpointFields.ca_bundle.nullable(),
    circuit_breaker: endpointFields.circuit_breaker.nullable(),
  })
  .strict()
  .refine((p) => Object.keys(p).length > 0, 'give at least one field to change');
export type EndpointPatch = z.infer<typeof endpointPatch>;

export const endpointListQuery = z
  .object({
    status: z.enum(['active', 'inactive']).optional(),
    event: eventTypeName.optional(),
    kind: z.enum(ENDPOINT_KINDS).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();

/** An Idempotency-Key, in the header or the body: 1 to 255 characters, none of them a control character. */
export const IDEMPOTENCY_KEY = /^[^\p{Cc}]{1,255}$/u;

export const eventIn = z
  .object({
    type: eventTypeName,
    payload: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]),
    lang: z.string().min(2).max(35).regex(/^[A-Za-z0-9-]+$/).optional(),
    idempotency_key: z.string().min(1).max(255).regex(IDEMPOTENCY_KEY, 'no control characters').optional(),
  })
  .strict();
export type EventIn = z.infer<typeof eventIn>;

export const eventListQuery = z
  .object({
    type: eventTypeName.optional(),
    since: isoTimestamp().optional(),
    until: isoTimestamp().optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();

export const pageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();

export const deliveryStatus = z.enum(DELIVERY_STATES);

/** A delivery's state as an attempt records it (attempts decide these three, never the others). */
export const attemptDeliveryStatus = z.enum(ATTEMPT_DELIVERY_STATES);

export const eventStreamQuery = z
  .object({
    endpoint_id: resourceId('ep').optional(),
    event_type: eventTypeName.optional(),
    status: attemptDeliveryStatus.optional(),
    /** Replay attempts after this id; the Last-Event-ID header wins when both are given. */
    since_id: z.string().regex(/^\d{1,18}$/, 'must be an attempt id (digits)').optional(),
  })
  .strict();

export const deliveryLogQuery = z
  .object({
    status: deliveryStatus.optional(),
    event_type: eventTypeName.optional(),
    since: isoTimestamp().optional(),
    until: isoTimestamp().optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    /** `next_cursor` of the previous page, as given. */
    cursor: z.string().max(4096).regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)?$/, 'must be a next_cursor of this listing').optional(),
  })
  .strict();

/** A rotation's grace period, seconds: the old key still signs and verifies that long. */
export const graceSeconds = z.number().int().min(0).max(MAX_GRACE_SECONDS);

export const cancelIn = z.object({ reason: z.string().max(500).optional() }).strict();

/** A tenant's settings, any subset: `PATCH /settings` (the tenant) and `PATCH /tenants/:id` (the platform). */
export const tenantSettingsPatch = z
  .object({ allow_untyped_events: z.boolean(), retention_days: z.number().int().min(1).max(MAX_RETENTION_DAYS) })
  .partial()
  .strict();

/** A tenant API key to mint: by the tenant (`POST /api-keys`) or the platform (`POST /tenants/:id/api-keys`). */
export const apiKeyIn = z
  .object({
    name: label(128),
    scopes: z.array(z.enum(SCOPES)).min(1).optional(),
    role: z.enum(ROLES).optional(),
    expires_at: isoTimestamp().refine((d) => Date.parse(d) > Date.now(), 'must be in the future').optional(),
  })
  .strict()
  .refine((k) => !(k.scopes && k.role), 'give scopes or a role, not both');
