import { z } from 'zod';
import { MAX_DELAY_LIMIT_MS, MAX_RETRIES_LIMIT } from '../../workflows/retry-policy';
import { secretKeyBytes } from '../security/signing';

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

export const endpointIn = z
  .object({
    url: httpUrl,
    events: z.array(z.union([z.literal('*'), eventTypeName])).min(1).max(256),
    description: z.string().max(1024).optional(),
    retry_config: retryConfigSchema.optional(),
    secret: z
      .string()
      .refine((s) => secretKeyBytes(s) !== null, 'must be whsec_ followed by base64 of 24 to 64 bytes')
      .optional(),
  })
  .strict();
export type EndpointIn = z.infer<typeof endpointIn>;

export const eventIn = z
  .object({
    type: eventTypeName,
    payload: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]),
    lang: z.string().min(2).max(35).regex(/^[A-Za-z0-9-]+$/).optional(),
    idempotency_key: z.string().min(1).max(255).optional(),
  })
  .strict();
export type EventIn = z.infer<typeof eventIn>;

export const pageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();

export const deliveryStatus = z.enum(['pending', 'retrying', 'succeeded', 'failed', 'cancelled']);

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

export const cancelIn = z.object({ reason: z.string().max(500).optional() }).strict();
