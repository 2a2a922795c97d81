import type { CircuitState } from '../domain/circuit';
import type { AttemptResult } from '../domain/delivery';
import type { EndpointTemplate, StoredHeader } from '../domain/endpoint';
import type { EndpointKind } from '../domain/operational-events';
import type { RetryConfig } from '../domain/retry-config';
import { hotStatement, type Db } from './knex';

/**
 * Everything one delivery attempt needs, read in one statement: the endpoint (deleted ones too,
 * so the attempt can say so), its valid signing keys still sealed (active first), the usage
 * threshold of its keyring, the event body when the caller does not hold it already, and the
 * attempt itself when it is stored already (a step run again after its first run sent and
 * recorded it).
 */
export interface AttemptContext {
  endpoint: {
    id: string;
    /** As shown: masked when the URL carries a secret (then `url_sealed` holds the real one). */
    url: string;
    url_sealed: string | null;
    headers: Record<string, StoredHeader>;
    scheme: string;
    template: EndpointTemplate | null;
    retryConfig: RetryConfig | null;
    rateLimit: number | null;
    isActive: boolean;
    deleted: boolean;
    /** Client certificate and key, sealed; null: none. */
    clientTlsSealed: string | null;
    caBundle: string | null;
    kind: EndpointKind;
    /** Its circuit; `circuitWaitMs`: until the probe may go (open) or the probe's hold lapses (half-open). */
    circuitState: CircuitState;
    circuitWaitMs: number;
    circuitCooldownSeconds: number | null;
  };
  /** Sealed under the master key; opened inside the activity only. */
  sealedKeys: Array<{ id: string; ciphertext: string }>;
  usageThreshold: { threshold: number; graceSeconds: number } | null;
  /** Null when the caller passed `withBody: false`. */
  body: string | null;
  /** This attempt as stored by an earlier run of its step; null: not stored. */
  recorded: RecordedAttempt | null;
}

/** An attempt's stored answer, as {@link loadAttemptContext} reads it back (no `Retry-After`: it is not stored). */
export type RecordedAttempt = Omit<AttemptResult, 'retryAfterMs'>;

/**
 * The endpoint as an attempt needs it (of the endpoints row aliased `e`), as one JSON object: its
 * fields, its valid signing keys still sealed (active first) and its keyring's usage threshold.
 * The attempt's own statement reads it, and so does ingest, which hands it to the worker that
 * starts the delivery, so the first attempt need not read it again ({@link sealedAttemptOf}).
 */
export const ATTEMPT_ENDPOINT_JSON = `json_build_object(
    'url', e.url, 'url_sealed', e.url_sealed, 'headers', e.headers, 'scheme', e.scheme, 'template', e.template,
    'retry_config', e.retry_config, 'rate_limit', e.rate_limit, 'is_active', e.is_active,
    'client_tls_sealed', e.client_tls_sealed, 'ca_bundle', e.ca_bundle, 'deleted', e.deleted_at is not null, 'kind', e.kind,
    'circuit_state', e.circuit_state, 'circuit_cooldown_seconds', e.circuit_cooldown_seconds,
    'circuit_wait_ms', greatest(0, ceil(extract(epoch from (e.circuit_next_probe_at - now())) * 1000))::bigint,
    'keys', coalesce((select json_agg(json_build_object('id', k.id, 'ciphertext', k.ciphertext)
                                      order by (k.state <> 'active'), k.created_at desc)
                        from signing_keys k
                       where k.tenant_id = e.tenant_id and k.scope_type = 'endpoint' and k.scope_id = e.id
                         and (k.state = 'active' or (k.state = 'grace' and k.expires_at > now()))), '[]'::json),
    'usage', (select json_build_object('threshold', p.usage_threshold, 'graceSeconds', p.grace_seconds)
                from key_policies p
               where p.tenant_id = e.tenant_id and p.scope_type = 'endpoint' and p.scope_id = e.id
                 and p.enabled and p.usage_threshold is not null))`;

/** {@link ATTEMPT_ENDPOINT_JSON} as read: sealed values only, never an opened secret. */
export type SealedAttempt = Record<string, unknown>;

/** The statement's text, with the event's body read too or not: two fixed texts, prepared. */
const contextStatement = (withBody: boolean) =>
  `select ${ATTEMPT_ENDPOINT_JSON} as endpoint,
          ${withBody ? '(select v.body from events v where v.tenant_id = e.tenant_id and v.id = ?)' : 'null'} as body,
          (select json_build_object('outcome', a.outcome, 'startedAt', a.started_at, 'durationMs', a.duration_ms, 'responseStatus', a.response_status,
                                    'errorClass', a.error_class, 'errorMessage', a.error_message, 'responseExcerpt', a.response_excerpt)
             from attempts a
            where a.delivery_id = ? and a.attempt = ? and a.tenant_id = e.tenant_id) as recorded
     from endpoints e
    where e.tenant_id = ? and e.id = ?`;
const WITH_BODY = contextStatement(true);
const WITHOUT_BODY = contextStatement(false);

/**
 * The context of an attempt whose endpoint was read as {@link ATTEMPT_ENDPOINT_JSON}, without a
 * body (the caller holds it) and not stored before.
 */
export function sealedAttemptOf(endpointId: string, sealed: SealedAttempt): AttemptContext {
  const usage = sealed.usage as { threshold: string | number; graceSeconds: number } | null | undefined;
  return {
    endpoint: {
      id: endpointId,
      url: sealed.url as string,
      url_sealed: (sealed.url_sealed ?? null) as string | null,
      headers: (sealed.headers ?? {}) as Record<string, StoredHeader>,
      scheme: sealed.scheme as string,
      template: (sealed.template ?? null) as EndpointTemplate | null,
      retryConfig: (sealed.retry_config ?? null) as RetryConfig | null,
      rateLimit: sealed.rate_limit === null || sealed.rate_limit === undefined ? null : Number(sealed.rate_limit),
      isActive: Boolean(sealed.is_active),
      deleted: Boolean(sealed.deleted),
      clientTlsSealed: (sealed.client_tls_sealed ?? null) as string | null,
      caBundle: (sealed.ca_bundle ?? null) as string | null,
      kind: (sealed.kind ?? 'standard') as EndpointKind,
      circuitState: (sealed.circuit_state ?? 'closed') as CircuitState,
      circuitWaitMs: sealed.circuit_wait_ms === null || sealed.circuit_wait_ms === undefined ? 0 : Number(sealed.circuit_wait_ms),
      circuitCooldownSeconds: sealed.circuit_cooldown_seconds === null || sealed.circuit_cooldown_seconds === undefined ? null : Number(sealed.circuit_cooldown_seconds),
    },
    sealedKeys: (sealed.keys ?? []) as Array<{ id: string; ciphertext: string }>,
    usageThreshold: usage ? { threshold: Number(usage.threshold), graceSeconds: usage.graceSeconds } : null,
    body: null,
    recorded: null,
  };
}

/** The attempt's context, or null when the endpoint does not exist in the tenant at all. */
export async function loadAttemptContext(
  db: Db,
  tenantId: string,
  endpointId: string,
  event: { id: string; withBody: boolean },
  attempt: { deliveryId: string; attempt: number },
): Promise<AttemptContext | null> {
  const result = await hotStatement(
    db,
    event.withBody ? WITH_BODY : WITHOUT_BODY,
    [...(event.withBody ? [event.id] : []), attempt.deliveryId, attempt.attempt, tenantId, endpointId],
  );
  const row = result.rows[0] as { endpoint: SealedAttempt; body: string | null; recorded: RecordedAttempt | null } | undefined;
  if (!row) return null;
  return { ...sealedAttemptOf(endpointId, row.endpoint), body: row.body ?? null, recorded: row.recorded ?? null };
}
