import type { CircuitState } from '../domain/circuit';
import type { EndpointTemplate, Filters, OnExhausted, Ordering, StoredHeader } from '../domain/endpoint';
import { isOperationalEventType, type EndpointKind } from '../domain/operational-events';
import type { RetryConfig } from '../domain/retry-config';
import { keyKindOf, signatureSchemeOf, type KeyKind } from '../domain/signature-schemes';
import type { KeyScope } from '../domain/keys';
import { NotFoundError } from '../errors';
import type { ClientCertificateInfo } from '../security/client-tls';
import type { Db } from './knex';

/** An endpoint as stored, without its secret (that lives in `signing_keys`). */
export interface EndpointRecord {
  id: string;
  tenant_id: string;
  name: string | null;
  /** The URL, or its masked form when it carries a secret (then sealed in `url_sealed`). */
  url: string;
  /** The real URL sealed under the master key when it carries a secret; null: `url` is it. */
  url_sealed: string | null;
  description: string | null;
  events: string[];
  headers: Record<string, StoredHeader>;
  filters: Filters | null;
  retry_config: RetryConfig | null;
  scheme: string;
  /** Requests per second at most, across all workers; null: no limit. */
  rate_limit: number | null;
  is_active: boolean;
  created_at: Date;
  updated_at: Date;
  last_triggered_at: Date | null;
  /** First failed attempt since the last success; null while healthy. */
  failing_since: Date | null;
  /** Why the service disabled it (410 Gone, failing too long); null otherwise. */
  disabled_reason: string | null;
  /** What its body is rendered from (an integration); null: the stored event body as it is. */
  template: EndpointTemplate | null;
  ordering: Ordering;
  on_exhausted: OnExhausted;
  /** The sequence number of its latest FIFO delivery (0: none yet). */
  fifo_last_sequence: number;
  /** The delivery its FIFO line waits on (on_exhausted = block); null while the line moves. */
  fifo_blocked_delivery_id: string | null;
  /** Its client certificate and key (mutual TLS), sealed together under the master key; null: none. */
  client_tls_sealed: string | null;
  /** What may be shown of that certificate. */
  client_tls_info: ClientCertificateInfo | null;
  /** PEM CAs that alone are trusted for the receiver's certificate; null: the system's. */
  ca_bundle: string | null;
  /** `operational`: receives the service's operational events only; `standard`: the tenant's events only. */
  kind: EndpointKind;
  /** Failed attempts since its last success (attempts that reached the receiver). */
  consecutive_failures: number;
  /** Its own circuit breaker setting; null: the service defaults. */
  circuit_failure_threshold: number | null;
  circuit_cooldown_seconds: number | null;
  circuit_state: CircuitState;
  circuit_opened_at: Date | null;
  circuit_next_probe_at: Date | null;
}

const COLUMNS = [
  'id', 'tenant_id', 'name', 'url', 'url_sealed', 'description', 'events', 'headers', 'filters', 'retry_config', 'scheme', 'rate_limit',
  'is_active', 'created_at', 'updated_at', 'last_triggered_at', 'failing_since', 'disabled_reason', 'template',
  'ordering', 'on_exhausted', 'fifo_last_sequence', 'fifo_blocked_delivery_id', 'client_tls_sealed', 'client_tls_info', 'ca_bundle', 'kind', 'consecutive_failures',
  'circuit_failure_threshold', 'circuit_cooldown_seconds', 'circuit_state', 'circuit_opened_at', 'circuit_next_probe_at',
] as const;

export type EndpointWrite = Partial<
  Pick<
    EndpointRecord,
    | 'name'
    | 'url'
    | 'url_sealed'
    | 'description'
    | 'events'
    | 'headers'
    | 'filters'
    | 'retry_config'
    | 'scheme'
    | 'rate_limit'
    | 'is_active'
    | 'failing_since'
    | 'disabled_reason'
    | 'template'
    | 'ordering'
    | 'on_exhausted'
    | 'fifo_blocked_delivery_id'
    | 'client_tls_sealed'
    | 'client_tls_info'
    | 'ca_bundle'
    | 'kind'
    | 'circuit_failure_threshold'
    | 'circuit_cooldown_seconds'
  > & { rate_next_slot_at: Date | null; rate_released_slots: null } & typeof CIRCUIT_RESET
>;

/** The circuit closed and the failure streak forgotten (switched back on, or its circuit setting changed). */
export const CIRCUIT_RESET = { circuit_state: 'closed', circuit_next_probe_at: null, consecutive_failures: 0, failing_alerted_percent: 0 } as const;

const JSON_COLUMNS = ['events', 'headers', 'filters', 'retry_config', 'template', 'client_tls_info'] as const;

/** jsonb columns go to pg as JSON text (a JS array would otherwise become a Postgres array). */
function toRow(fields: EndpointWrite): Record<string, unknown> {
  const row: Record<string, unknown> = { ...fields };
  for (const column of JSON_COLUMNS) {
    if (row[column] !== undefined) row[column] = row[column] === null ? null : JSON.stringify(row[column]);
  }
  return row;
}

/** Rate-limit slots released: nothing reserved, the next slot is now (disable, delete, re-enable). */
export const NO_SLOTS = { rate_next_slot_at: null, rate_released_slots: null } as const;

const live = (db: Db, tenantId: string) => db('endpoints').where({ tenant_id: tenantId }).whereNull('deleted_at');

/** Rows whose `events` include the event type (its value: a JSON array of it) directly or through `*`. */
const SUBSCRIBED_TO = `(events @> ?::jsonb or events @> '["*"]'::jsonb)`;

/** Rows whose `events` include `eventType` directly or through `*`. */
function subscribedTo(eventType: string) {
  return (q: import('knex').Knex.QueryBuilder) => q.whereRaw(SUBSCRIBED_TO, [JSON.stringify([eventType])]);
}

export async function insertEndpoint(
  db: Db,
  tenantId: string,
  endpoint: EndpointWrite & Pick<EndpointRecord, 'id' | 'url' | 'events'>,
): Promise<EndpointRecord> {
  const [row] = await db('endpoints').insert({ ...toRow(endpoint), tenant_id: tenantId }).returning(COLUMNS);
  return row as EndpointRecord;
}

/**
 * `last_triggered_at` as its attempts left it: the row keeps the time from before migration 022,
 * the attempts since write theirs to their shard rows (see `storeAttempt`); the latest wins.
 */
async function withLastTriggered<T extends { id: string; last_triggered_at: Date | null }>(db: Db, rows: T[]): Promise<T[]> {
  if (rows.length === 0) return rows;
  const latest: Array<{ endpoint_id: string; at: Date | null }> = await db('endpoint_attempt_counts')
    .whereIn('endpoint_id', rows.map((r) => r.id))
    .groupBy('endpoint_id')
    .select('endpoint_id', db.raw('max(last_triggered_at) as at'));
  const byId = new Map(latest.map((l) => [l.endpoint_id, l.at]));
  return rows.map((r) => {
    const at = byId.get(r.id) ?? null;
    return at && (!r.last_triggered_at || at > r.last_triggered_at) ? { ...r, last_triggered_at: at } : r;
  });
}

/** One live endpoint of the tenant; another tenant's or a deleted one is not found. */
export async function getEndpoint(db: Db, tenantId: string, id: string): Promise<EndpointRecord> {
  const row = await live(db, tenantId).select(COLUMNS).where({ id }).first();
  if (!row) throw new NotFoundError('endpoint', id);
  return (await withLastTriggered(db, [row as EndpointRecord]))[0]!;
}

export async function updateEndpoint(db: Db, tenantId: string, id: string, fields: EndpointWrite): Promise<EndpointRecord> {
  const [row] = await live(db, tenantId)
    .where({ id })
    .update({ ...toRow(fields), updated_at: db.fn.now() })
    .returning(COLUMNS);
  if (!row) throw new NotFoundError('endpoint', id);
  return (await withLastTriggered(db, [row as EndpointRecord]))[0]!;
}

/** Soft delete: gone from lists and fan-out; history, attempts and deliveries are kept. */
export async function softDeleteEndpoint(db: Db, tenantId: string, id: string): Promise<void> {
  const count = await live(db, tenantId).where({ id }).update({ deleted_at: db.fn.now(), is_active: false, updated_at: db.fn.now(), ...NO_SLOTS });
  if (count === 0) throw new NotFoundError('endpoint', id);
}

export interface EndpointListFilter {
  status?: 'active' | 'inactive';
  event?: string;
  kind?: EndpointKind;
  limit: number;
  offset: number;
}

export async function listEndpoints(db: Db, tenantId: string, filter: EndpointListFilter): Promise<{ items: EndpointRecord[]; total: number }> {
  const query = () => {
    const q = live(db, tenantId);
    if (filter.status) q.andWhere('is_active', filter.status === 'active');
    if (filter.event) q.andWhere(subscribedTo(filter.event));
    if (filter.kind) q.andWhere('kind', filter.kind);
    return q;
  };
  const [items, [{ count }]] = await Promise.all([
    query().select(COLUMNS).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).offset(filter.offset),
    query().count<{ count: string | number }[]>({ count: '*' }),
  ]);
  return { items: await withLastTriggered(db, items as EndpointRecord[]), total: Number(count) };
}

/**
 * Active, live endpoints of the tenant subscribed to `eventType` (directly or through `*`): its
 * operational endpoints for an operational event type, its standard ones for any other. A query
 * to select from.
 */
export function subscribedEndpoints(db: Db, tenantId: string, eventType: string) {
  return db('endpoints').whereRaw(SUBSCRIBED_ENDPOINT, subscribedBindings(tenantId, eventType));
}

/**
 * {@link subscribedEndpoints}' condition as fixed SQL text, for statements written out whole
 * (prepared once per connection); its values come from {@link subscribedBindings}.
 */
export const SUBSCRIBED_ENDPOINT = `tenant_id = ? and deleted_at is null and is_active and kind = ? and ${SUBSCRIBED_TO}`;

/** The values of {@link SUBSCRIBED_ENDPOINT}, in order. */
export function subscribedBindings(tenantId: string, eventType: string): string[] {
  const kind: EndpointKind = isOperationalEventType(eventType) ? 'operational' : 'standard';
  return [tenantId, kind, JSON.stringify([eventType])];
}

/** {@link subscribedEndpoints}, in id order. */
export async function listSubscribedEndpoints(db: Db, tenantId: string, eventType: string): Promise<EndpointRecord[]> {
  return (await subscribedEndpoints(db, tenantId, eventType).select(COLUMNS).orderBy('id')) as EndpointRecord[];
}

/**
 * Stops new deliveries to an endpoint, saying why (410 Gone, failing too long). True when this
 * call disabled it, false when it already was, so the caller reports it once.
 */
export async function deactivateEndpoint(db: Db, tenantId: string, id: string, reason: string, by: string): Promise<boolean> {
  const changed = await db('endpoints')
    .where({ tenant_id: tenantId, id, is_active: true })
    .update({ is_active: false, disabled_reason: reason, disabled_by: by, updated_at: db.fn.now(), ...NO_SLOTS });
  return changed > 0;
}

/** An attempt switched its endpoint off: why, and since when the endpoint had been failing. */
export interface DisabledByAttempt {
  reason: string;
  failingSince: Date | null;
}

/** An endpoint as an attempt `<delivery id>:<attempt>` left it, read again by a retried step. */
export interface EndpointLeftBy {
  /** What an operational event names it by. */
  kind: EndpointKind;
  name: string | null;
  url: string;
  /** Why that attempt switched it off, if it did and it is still off; else null. */
  disabled: DisabledByAttempt | null;
}

/** {@link EndpointLeftBy} for the attempt `by` (deleted endpoints too); null when the endpoint is gone. */
export async function endpointLeftBy(db: Db, tenantId: string, id: string, by: string): Promise<EndpointLeftBy | null> {
  const row = await db('endpoints')
    .select('kind', 'name', 'url', 'is_active', 'disabled_by', 'disabled_reason', 'failing_since')
    .where({ tenant_id: tenantId, id })
    .first();
  if (!row) return null;
  const disabled = !row.is_active && row.disabled_by === by ? { reason: row.disabled_reason as string, failingSince: (row.failing_since as Date | null) ?? null } : null;
  return { kind: row.kind as EndpointKind, name: (row.name ?? null) as string | null, url: row.url as string, disabled };
}

/**
 * What signing an attempt needs of the endpoint: its scheme, and its template (the signature is
 * over the rendered body). Deleted endpoints included; null when it does not exist.
 */
export async function endpointSigningSettings(
  db: Db,
  tenantId: string,
  id: string,
): Promise<{ scheme: string; template: EndpointTemplate | null } | null> {
  const row = await db('endpoints').where({ tenant_id: tenantId, id }).first('scheme', 'template');
  return row ? { scheme: row.scheme as string, template: (row.template as EndpointTemplate | null) ?? null } : null;
}

/**
 * The kind of key a keyring holds: an endpoint's follows its scheme (ed25519 for
 * `standard-webhooks-v1a`), an inbound source's is always HMAC.
 */
export async function keyringKind(db: Db, tenantId: string, scope: KeyScope): Promise<KeyKind> {
  if (scope.type === 'source') return 'hmac';
  const settings = await endpointSigningSettings(db, tenantId, scope.id);
  return keyKindOf(signatureSchemeOf(settings?.scheme));
}

/** What of an endpoint is sealed under the master key: its URL (when secret) and sensitive headers. */
export interface EndpointSecrets {
  id: string;
  url: string;
  url_sealed: string | null;
  headers: Record<string, StoredHeader>;
  client_tls_sealed: string | null;
}

/** A page of every endpoint's secrets (all tenants, deleted ones too: they are still at rest), in id order. */
export async function listEndpointSecrets(db: Db, afterId: string | null, limit: number): Promise<EndpointSecrets[]> {
  const query = db('endpoints').select('id', 'url', 'url_sealed', 'headers', 'client_tls_sealed');
  if (afterId) query.where('id', '>', afterId);
  return query.orderBy('id').limit(limit);
}

/** Stores re-sealed secrets of an endpoint, only if they are still those that were read (true when written). */
export async function replaceEndpointSecrets(db: Db, before: EndpointSecrets, after: Omit<EndpointSecrets, 'id'>): Promise<boolean> {
  const changed = await db('endpoints')
    .where({ id: before.id, url: before.url })
    .andWhereRaw('url_sealed is not distinct from ?', [before.url_sealed])
    .andWhereRaw('headers is not distinct from ?::jsonb', [before.headers === null ? null : JSON.stringify(before.headers)])
    .andWhereRaw('client_tls_sealed is not distinct from ?', [before.client_tls_sealed])
    .update({ url: after.url, url_sealed: after.url_sealed, headers: JSON.stringify(after.headers), client_tls_sealed: after.client_tls_sealed });
  return changed > 0;
}

/** What an endpoint is for (deleted ones too); null when the tenant has no such endpoint. */
export async function endpointKind(db: Db, tenantId: string, id: string): Promise<EndpointKind | null> {
  const row = await db('endpoints').where({ tenant_id: tenantId, id }).first('kind');
  return row ? (row.kind as EndpointKind) : null;
}
