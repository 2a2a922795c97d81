import type { Caller } from '../domain/caller';
import type { EndpointIn, EndpointPatch } from '../api/schemas';
import { auditedBy, recordAudit } from '../db/audit-repo';
import {
  CIRCUIT_RESET,
  getEndpoint,
  insertEndpoint,
  NO_SLOTS,
  softDeleteEndpoint,
  updateEndpoint,
  type EndpointRecord,
  type EndpointWrite,
} from '../db/endpoints-repo';
import { insertActiveKey } from '../db/signing-keys-repo';
import { isOperationalEventType, type EndpointKind } from '../domain/operational-events';
import { AppError, ValidationError } from '../errors';
import { newId } from '../ids';
import { wakeSequencer } from '../temporal/fifo-sequencers';
import { stopKeySchedule } from '../temporal/schedules';
import { egressPolicy, refusedUrl } from '../security/egress';
import { publicHeaders, sealHeaders } from '../security/endpoint-headers';
import { sealUrl, type StoredUrl } from '../security/endpoint-url';
import { inspectClientCertificate, sealClientCertificate } from '../security/client-tls';
import { keyKindOf, signatureSchemeOf } from '../domain/signature-schemes';
import { publicKeyOf } from '../security/ed25519';
import { generateSecretOf } from '../security/signing';
import type { AppDeps } from './deps';

/** Public view of an endpoint: never its secret, a sensitive header value or a secret URL (masked). */
export function endpointOut(endpoint: EndpointRecord) {
  return {
    id: endpoint.id,
    name: endpoint.name,
    url: endpoint.url,
    url_sensitive: endpoint.url_sealed !== null,
    description: endpoint.description,
    events: endpoint.events,
    headers: publicHeaders(endpoint.headers ?? {}),
    filters: endpoint.filters,
    retry_config: endpoint.retry_config,
    scheme: endpoint.scheme,
    rate_limit: endpoint.rate_limit,
    template: endpoint.template,
    ordering: endpoint.ordering,
    on_exhausted: endpoint.on_exhausted,
    // A FIFO line: the last sequence number given, and the delivery it waits on (on_exhausted = block).
    fifo: endpoint.ordering === 'fifo' || Number(endpoint.fifo_last_sequence) > 0
      ? { last_sequence: Number(endpoint.fifo_last_sequence), blocked_on: endpoint.fifo_blocked_delivery_id }
      : null,
    is_active: endpoint.is_active,
    kind: endpoint.kind,
    // Its own setting (null: the service's CIRCUIT_FAILURE_THRESHOLD and CIRCUIT_COOLDOWN_SECONDS), and the circuit now.
    circuit_breaker: endpoint.circuit_failure_threshold === null
      ? null
      : { failure_threshold: endpoint.circuit_failure_threshold, cooldown_seconds: endpoint.circuit_cooldown_seconds },
    circuit: {
      state: endpoint.circuit_state,
      consecutive_failures: endpoint.consecutive_failures,
      opened_at: endpoint.circuit_opened_at,
      // Open: when the probe attempt may go; half-open: when the probe's hold lapses.
      next_probe_at: endpoint.circuit_next_probe_at,
    },
    created_at: endpoint.created_at,
    updated_at: endpoint.updated_at,
    last_triggered: endpoint.last_triggered_at,
    failing_since: endpoint.failing_since,
    disabled_reason: endpoint.disabled_reason,
    // The certificate's public facts only: its key and the certificate itself stay sealed.
    tls: { client_certificate: endpoint.client_tls_info, ca_bundle: endpoint.ca_bundle !== null },
  };
}

const audit = (caller: Caller) => ({ ...auditedBy(caller), resourceType: 'endpoint' });

/**
 * An operational endpoint subscribes to operational event types (or `*`: all of them), without
 * payload filters; a standard one to the tenant's own types only (its `*` never includes
 * operational ones). 422 otherwise.
 */
function checkKindEvents(kind: EndpointKind, events: readonly string[] | undefined, filters?: unknown): void {
  if (kind === 'operational' && filters) {
    const message = 'operational events are not filtered: subscribe to the operational types wanted instead';
    throw new ValidationError(`invalid body: filters: ${message}`, [{ path: 'body.filters', message }]);
  }
  const wrong = (events ?? []).filter((e) => e !== '*' && isOperationalEventType(e) !== (kind === 'operational'));
  if (wrong.length === 0) return;
  const message = kind === 'operational'
    ? `an operational endpoint receives operational event types only (endpoint.disabled, endpoint.failing, …); not ${wrong.join(', ')}`
    : `${wrong.join(', ')} ${wrong.length > 1 ? 'are operational event types' : 'is an operational event type'}: create an endpoint with "kind": "operational" to receive ${wrong.length > 1 ? 'them' : 'it'}`;
  throw new ValidationError(`invalid body: events: ${message}`, [{ path: 'body.events', message }]);
}

/** The circuit setting as stored: both null to follow the service's defaults. */
function circuitColumns(setting: { failure_threshold: number; cooldown_seconds?: number } | null | undefined) {
  return { circuit_failure_threshold: setting?.failure_threshold ?? null, circuit_cooldown_seconds: setting ? (setting.cooldown_seconds ?? null) : null };
}

/** Refuses on save a URL the egress policy already refuses without resolving it (422 on `url`). */
function checkUrlAllowed(config: AppDeps['config'], url: string): void {
  const reason = refusedUrl(egressPolicy(config), url);
  if (reason) throw new ValidationError(`invalid body: url: ${reason}`, [{ path: 'body.url', message: reason }]);
}

/**
 * Creates an endpoint with its first signing key; the secret is returned here and only here
 * (with its public key for `standard-webhooks-v1a`, which signs with ed25519).
 */
export async function createEndpoint(
  { db, box, config }: Pick<AppDeps, 'db' | 'box' | 'config'>,
  caller: Caller,
  input: EndpointIn,
): Promise<{ endpoint: EndpointRecord; secret: string; keyId: string; publicKey: string | null }> {
  checkUrlAllowed(config, input.url);
  checkKindEvents(input.kind ?? 'standard', input.events, input.filters);
  const kind = keyKindOf(signatureSchemeOf(input.scheme));
  const secret = input.secret ?? generateSecretOf(kind);
  const id = newId('ep');
  const stored = sealUrl(box, id, input.url, input.url_sensitive);
  return db.transaction(async (trx) => {
    const endpoint = await insertEndpoint(trx, caller.tenantId, {
      id,
      name: input.name ?? null,
      ...stored,
      description: input.description ?? null,
      events: input.events,
      headers: sealHeaders(box, id, input.headers ?? {}),
      filters: input.filters ?? null,
      retry_config: input.retry_config ?? null,
      scheme: input.scheme ?? 'x-signature',
      rate_limit: input.rate_limit ?? null,
      template: input.template ?? null,
      ordering: input.ordering ?? 'unordered',
      on_exhausted: input.on_exhausted ?? 'skip',
      is_active: input.is_active ?? true,
      ...tlsFields(box, id, input),
      kind: input.kind ?? 'standard',
      ...circuitColumns(input.circuit_breaker),
    });
    const keyId = await insertActiveKey(trx, box, caller.tenantId, { type: 'endpoint', id }, newId('key'), secret);
    await recordAudit(trx, { ...audit(caller), action: 'WebhookCreated', resourceId: id, details: { url: stored.url, events: input.events } });
    return { endpoint, secret, keyId, publicKey: kind === 'ed25519' ? publicKeyOf(secret) : null };
  });
}

/** How the given client certificate and CA bundle are stored (`null` clears, absent leaves as is). */
function tlsFields(box: AppDeps['box'], endpointId: string, input: Pick<EndpointPatch, 'client_certificate' | 'ca_bundle'>): EndpointWrite {
  const fields: EndpointWrite = {};
  if (input.client_certificate !== undefined) {
    const given = input.client_certificate;
    fields.client_tls_sealed = given ? sealClientCertificate(box, endpointId, given) : null;
    fields.client_tls_info = given ? inspectClientCertificate(given) : null;
  }
  if (input.ca_bundle !== undefined) fields.ca_bundle = input.ca_bundle;
  return fields;
}

/**
 * An endpoint's keys are HMAC secrets or ed25519 keys, never both: its scheme may change within
 * a kind (x-signature ↔ standard-webhooks ↔ sha256), not across, or it would have no key to sign
 * with (409 `scheme_key_mismatch`; create a new endpoint for the other kind).
 */
function checkSchemeKind(current: EndpointRecord, scheme: string | undefined): void {
  if (scheme === undefined) return;
  const from = keyKindOf(signatureSchemeOf(current.scheme));
  const to = keyKindOf(signatureSchemeOf(scheme));
  if (from !== to) {
    throw new AppError(409, 'scheme_key_mismatch', `endpoint ${current.id} signs with ${from} keys; scheme ${scheme} needs ${to} keys: create a new endpoint for it`);
  }
}

/**
 * How a change stores the URL, or null to keep it. The masked URL sent back (a PUT of what GET
 * answered) keeps the sealed one; a new URL is sealed when it carries a secret, when
 * `url_sensitive` says so, or (PATCH) when the one it replaces was sealed; `url_sensitive: true`
 * alone seals the current URL.
 */
function changedUrl(box: AppDeps['box'], current: EndpointRecord, input: EndpointPatch, mode: 'replace' | 'patch'): StoredUrl | null {
  if (input.url === undefined || (current.url_sealed !== null && input.url === current.url)) {
    return input.url_sensitive && current.url_sealed === null ? sealUrl(box, current.id, current.url, true) : null;
  }
  const sensitive = input.url_sensitive ?? (mode === 'patch' && current.url_sealed !== null);
  return sealUrl(box, current.id, input.url, sensitive);
}

/**
 * PUT replaces every field (absent optional fields are cleared); PATCH changes only the given
 * ones (`null` clears). The secret is never part of an update: it is rotated.
 */
export async function changeEndpoint(
  deps: Pick<AppDeps, 'db' | 'box' | 'config' | 'temporal' | 'log'>,
  caller: Caller,
  id: string,
  input: EndpointPatch,
  mode: 'replace' | 'patch',
): Promise<EndpointRecord> {
  const { db, box, config } = deps;
  const updated = await db.transaction(async (trx) => {
    const current = await getEndpoint(trx, caller.tenantId, id);
    checkSchemeKind(current, mode === 'replace' ? (input.scheme ?? 'x-signature') : input.scheme);
    checkKindEvents(current.kind, input.events, input.filters);
    const url = changedUrl(box, current, input, mode);
    if (url && input.url) checkUrlAllowed(config, input.url);
    const fields: EndpointWrite =
      mode === 'replace'
        ? {
            name: input.name ?? null,
            description: input.description ?? null,
            headers: {},
            filters: input.filters ?? null,
            retry_config: input.retry_config ?? null,
            scheme: input.scheme ?? 'x-signature',
            rate_limit: input.rate_limit ?? null,
            template: input.template ?? null,
            ordering: input.ordering ?? 'unordered',
            on_exhausted: input.on_exhausted ?? 'skip',
            is_active: input.is_active ?? true,
            ...tlsFields(box, id, { client_certificate: input.client_certificate ?? null, ca_bundle: input.ca_bundle ?? null }),
            ...circuitColumns(input.circuit_breaker),
          }
        : tlsFields(box, id, input);
    if (mode === 'patch' && input.circuit_breaker !== undefined) Object.assign(fields, circuitColumns(input.circuit_breaker));
    // A new circuit setting starts closed, from no failures.
    const circuit = circuitColumns(input.circuit_breaker);
    if (
      (mode === 'replace' || input.circuit_breaker !== undefined) &&
      (circuit.circuit_failure_threshold !== current.circuit_failure_threshold || circuit.circuit_cooldown_seconds !== current.circuit_cooldown_seconds)
    ) {
      Object.assign(fields, CIRCUIT_RESET);
    }
    if (url) Object.assign(fields, url);
    for (const key of ['name', 'events', 'description', 'filters', 'retry_config', 'scheme', 'rate_limit', 'template', 'ordering', 'on_exhausted', 'is_active'] as const) {
      if (input[key] !== undefined) (fields as Record<string, unknown>)[key] = input[key];
    }
    if (input.headers !== undefined) fields.headers = sealHeaders(box, id, input.headers, current.headers);
    // A new limit starts from now, not from slots reserved under the old one.
    if (fields.rate_limit !== undefined && fields.rate_limit !== current.rate_limit) Object.assign(fields, NO_SLOTS);
    // Switched on (or off) by hand: the service's reason and the failure streak no longer apply,
    // and no slot reserved before counts (off: its deliveries stop; on: it starts afresh).
    if (fields.is_active !== undefined && fields.is_active !== current.is_active) {
      fields.disabled_reason = null;
      Object.assign(fields, NO_SLOTS);
      if (fields.is_active) Object.assign(fields, { failing_since: null }, CIRCUIT_RESET);
    }
    const changed = await updateEndpoint(trx, caller.tenantId, id, fields);
    await recordAudit(trx, { ...audit(caller), action: 'WebhookUpdated', resourceId: id, details: { fields: Object.keys(input) } });
    return changed;
  });
  // A FIFO line looks again: switched on or off, ordered or not, its policy changed.
  await wakeLineOf(deps, updated);
  return updated;
}

/** Wakes the sequencer of an endpoint that has (or had) a FIFO line; a failure only delays it. */
async function wakeLineOf({ temporal, config, log }: Pick<AppDeps, 'temporal' | 'config' | 'log'>, endpoint: EndpointRecord): Promise<void> {
  if (endpoint.ordering !== 'fifo' && Number(endpoint.fifo_last_sequence) === 0) return;
  await wakeSequencer(temporal, config.TEMPORAL_TASK_QUEUE, { tenantId: endpoint.tenant_id, endpointId: endpoint.id }).catch((err) =>
    log.warn({ err, endpointId: endpoint.id }, 'could not wake the FIFO line of a changed endpoint; it looks again within minutes'),
  );
}

/**
 * Soft delete; deliveries in flight stop at their next attempt (`endpoint_deleted`), and the
 * endpoint's auto-rotation schedule, if any, is deleted.
 */
export async function deleteEndpoint(deps: Pick<AppDeps, 'db' | 'temporal' | 'log' | 'config'>, caller: Caller, id: string): Promise<void> {
  const { db, temporal, log } = deps;
  const endpoint = await db.transaction(async (trx) => {
    const current = await getEndpoint(trx, caller.tenantId, id);
    await softDeleteEndpoint(trx, caller.tenantId, id);
    await recordAudit(trx, { ...audit(caller), action: 'WebhookDeleted', resourceId: id });
    return current;
  });
  // Its FIFO line runs out: each delivery still in it ends at once, cancelled.
  await wakeLineOf(deps, endpoint);
  await stopKeySchedule(temporal, caller.tenantId, { type: 'endpoint', id }, 'delete').catch((err) =>
    log.warn({ err, endpointId: id }, 'could not delete the key rotation schedule of a deleted endpoint'),
  );
}
