import { z } from 'zod';
import { ATTEMPT_DELIVERY_STATES, DELIVERY_STATES } from '../domain/delivery';
import { ON_EXHAUSTED, ORDERINGS, type HeaderInput } from '../domain/endpoint';
import { MAX_GRACE_SECONDS } from '../domain/keys';
import { MAX_DELAY_LIMIT_MS, MAX_RETRIES_LIMIT } from '../domain/retry-config';
import { ROLES, SCOPES } from '../domain/scopes';
import { SIGNATURE_SCHEMES } from '../domain/signature-schemes';
import { templateSchema } from '../integrations/catalog';
import { secretKeyBytes } from '../security/signing';
import { filtersSchema } from '../services/filters';

/** Event type names: `order.created`, `invoice.paid.v2`. `*` subscribes to all. */
export const eventTypeName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'letters, digits, and _ . : - only');

export const resourceId = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}_[0-9a-z]{26}$`), `must be a ${prefix}_ id`);

const httpUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL');

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
const RESERVED_HEADERS = /^(host|content-length|content-type|transfer-encoding|connection|user-agent|x-ts|x-nonce|x-signature|x-key-id|x-delivery-id|x-event-id|x-event-type|x-attempt|x-webhook-signature|x-webhook-sequence|webhook-.*)$/i;

const headerName = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,64}$/, 'a header name (letters, digits, -)')
  .refine((name) => !RESERVED_HEADERS.test(name), 'is set by the service and cannot be overridden');
const headerValue = z.string().max(2048).regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'no control characters');

/** Custom headers: `"value"`, or `{value, sensitive}`; `{sensitive: true}` alone keeps a stored value. */
export const headersSchema = z
  .record(
    headerName,
    z.union([headerValue, z.object({ value: headerValue.optional(), sensitive: z.boolean().default(false) }).strict()]),
  )
  .refine((h) => Object.keys(h).length <= 32, 'at most 32 headers') satisfies z.ZodType<Record<string, HeaderInput>>;

const endpointFields = {
  name: z.string().min(1).max(128).optional(),
  url: httpUrl,
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
};

export const endpointIn = z
  .object({
    ...endpointFields,
    secret: z
      .string()
      .refine((s) => secretKeyBytes(s) !== null, 'must be whsec_ followed by base64 of 24 to 64 bytes')
      .optional(),
  })
  .strict();
export type EndpointIn = z.infer<typeof endpointIn>;

/** PUT: the whole endpoint again (the secret is rotated, not replaced). */
export const endpointPut = z.object(endpointFields).strict();

/** PATCH: any subset; `null` clears an optional field. */
export const endpointPatch = z
  .object({
    name: endpointFields.name.nullable(),
    url: httpUrl.optional(),
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
  })
  .strict()
  .refine((p) => Object.keys(p).length > 0, 'give at least one field to change');
export type EndpointPatch = z.infer<typeof endpointPatch>;

export const endpointListQuery = z
  .object({
    status: z.enum(['active', 'inactive']).optional(),
    event: eventTypeName.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();

export const eventIn = z
  .object({
    type: eventTypeName,
    payload: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]),
    lang: z.string().min(2).max(35).regex(/^[A-Za-z0-9-]+$/).optional(),
    idempotency_key: z.string().min(1).max(255).optional(),
  })
  .strict();
export type EventIn = z.infer<typeof eventIn>;

export const eventListQuery = z
  .object({
    type: eventTypeName.optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
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
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(4096).regex(/^[A-Za-z0-9_-]+$/).optional(),
  })
  .strict();

/** A rotation's grace period, seconds: the old key still signs and verifies that long. */
export const graceSeconds = z.number().int().min(0).max(MAX_GRACE_SECONDS);

export const cancelIn = z.object({ reason: z.string().max(500).optional() }).strict();

/** A tenant's settings, any subset: `PATCH /settings` (the tenant) and `PATCH /tenants/:id` (the platform). */
export const tenantSettingsPatch = z.object({ allow_untyped_events: z.boolean() }).partial().strict();

/** A tenant API key to mint: by the tenant (`POST /api-keys`) or the platform (`POST /tenants/:id/api-keys`). */
export const apiKeyIn = z
  .object({
    name: z.string().min(1).max(128),
    scopes: z.array(z.enum(SCOPES)).min(1).optional(),
    role: z.enum(ROLES).optional(),
    expires_at: z.iso.datetime({ offset: true }).refine((d) => Date.parse(d) > Date.now(), 'must be in the future').optional(),
  })
  .strict()
  .refine((k) => !(k.scopes && k.role), 'give scopes or a role, not both');
