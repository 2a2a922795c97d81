import type { CircuitState } from '../domain/circuit';
import type { EndpointKind } from '../domain/operational-events';
import { hotStatement, StatementTexts, type Db } from './knex';

/** One delivery attempt as recorded for telemetry and aggregates. */
export interface AttemptRow {
  tenant_id: string;
  delivery_id: string;
  endpoint_id: string;
  event_id: string;
  attempt: number;
  outcome: string;
  started_at: Date;
  duration_ms: number;
  response_status: number | null;
  error_class: string | null;
  error_message: string | null;
  response_excerpt: string | null;
  delivery_status: string;
}

/** What else an attempt changes when it is stored. */
export interface AttemptEffects {
  /** The request reached the wire (or failed on its way): the endpoint's health and `last_triggered_at` follow it. */
  reachedReceiver: boolean;
  /** Keys that signed it: their usage counts grow by one. */
  keyIds: readonly string[];
  /**
   * Answer the first key's usage count after this attempt (`activeKeyUsage`). Only a usage-based
   * rotation reads it, and it costs a read of the key's row and shard rows, so it is asked for.
   */
  readActiveUsage?: boolean;
}

/** The endpoint as an attempt left it: what its health, circuit and operational events need. */
export interface EndpointAfterAttempt {
  kind: EndpointKind;
  name: string | null;
  /** As shown (masked when it carries a secret). */
  url: string;
  consecutiveFailures: number;
  failingAlertedPercent: number;
  circuitState: CircuitState;
  circuitOpenedAt: Date | null;
  /** Its own circuit setting; null: the service defaults. */
  circuitFailureThreshold: number | null;
  circuitCooldownSeconds: number | null;
}

export interface StoredAttempt {
  /** False when this attempt was already stored (a retried step): nothing else changed either. */
  inserted: boolean;
  /** The endpoint after this attempt, when it reached the receiver. */
  health: { failingSince: Date | null; isActive: boolean } | null;
  /** The endpoint after this attempt (null when not inserted, or the endpoint is gone). */
  endpoint: EndpointAfterAttempt | null;
  /** The delivery's state as its previous attempt left it (null: this is its first). */
  previousDeliveryStatus: string | null;
  /** Usage count of the first (active) signing key after this attempt. */
  activeKeyUsage: number | null;
}

/** The endpoint as an attempt leaves it, returned by the record statement. */
const AFTER_COLUMNS = [
  'failing_since', 'is_active', 'kind', 'name', 'url', 'consecutive_failures', 'failing_alerted_percent', 'circuit_state',
  'circuit_opened_at', 'circuit_failure_threshold', 'circuit_cooldown_seconds',
] as const;
const ENDPOINT_AFTER = AFTER_COLUMNS.join(', ');

/** The health a success leaves, whoever cleared it first. */
const HEALTHY: Partial<Record<(typeof AFTER_COLUMNS)[number], string>> = { failing_since: 'null::timestamptz', consecutive_failures: '0', failing_alerted_percent: '0' };

/**
 * The endpoint read as a success that did not write its row leaves it. The read sees the row as
 * the statement began: when a concurrent success cleared the health meanwhile (this statement's
 * update then found nothing to clear), it would still show the failures, and a stale
 * `failing_since` would switch the endpoint off after a success.
 */
const HEALTHY_AFTER = AFTER_COLUMNS.map((c) => (HEALTHY[c] ? `${HEALTHY[c]} as ${c}` : c)).join(', ');

/** The shard row a statement adds to: its connection's (see migrations 022 and 024). */
const SHARD = 'count_shard()';

/** The attempt row's columns, in the record statement's order. */
const ATTEMPT_COLUMNS = Object.keys({
  tenant_id: 1, delivery_id: 1, endpoint_id: 1, event_id: 1, attempt: 1, outcome: 1, started_at: 1, duration_ms: 1,
  response_status: 1, error_class: 1, error_message: 1, response_excerpt: 1, delivery_status: 1,
} satisfies Record<keyof AttemptRow, 1>) as Array<keyof AttemptRow>;

/** What the record statement's text varies with: the attempt's kind (answered, reached, succeeded) and its signing keys. */
interface RecordVariant {
  answered: boolean;
  /** The delivery's state after the attempt, as the counts tell it apart. */
  status: 'succeeded' | 'failed' | 'other';
  succeeded: boolean;
  reached: boolean;
  keys: number;
  readUsage: boolean;
}

/** The record statement's texts, one per variant: prepared. */
const RECORD_TEXTS = new StatementTexts();

function recordStatement(v: RecordVariant): string {
  const delta = (state: 'succeeded' | 'failed') =>
    `${v.status === state ? 1 : 0} - (case when (select delivery_status from prev) = '${state}' then 1 else 0 end)`;
  const health = !v.reached
    ? 'select ' + ENDPOINT_AFTER + ' from endpoints where false'
    : v.succeeded
      ? `update endpoints set failing_since = null, consecutive_failures = 0, failing_alerted_percent = 0
          where tenant_id = ? and id = ? and exists (select 1 from ins)
            and (failing_since is not null or consecutive_failures <> 0 or failing_alerted_percent <> 0)
          returning ${ENDPOINT_AFTER}`
      : `update endpoints set failing_since = coalesce(failing_since, now()), consecutive_failures = consecutive_failures + 1
          where tenant_id = ? and id = ? and exists (select 1 from ins)
          returning ${ENDPOINT_AFTER}`;
  const usage = v.keys > 0
    ? `insert into signing_key_uses as u (tenant_id, key_id, shard, uses)
         select ?, k, ${SHARD}, 1 from unnest(array[${Array.from({ length: v.keys }, () => '?').join(', ')}]::text[]) as k
          where exists (select 1 from ins) order by k
         on conflict (key_id, shard) do update set uses = u.uses + 1
         returning key_id`
    : 'select null::text as key_id where false';
  const activeUsage = v.readUsage
    ? `case when exists (select 1 from usage where key_id = ?)
            then (select usage_count from signing_keys where id = ?)
                 + coalesce((select sum(uses) from signing_key_uses where key_id = ?), 0) + 1
       end`
    : 'null::bigint';
  return `with prev as (
       select delivery_status from attempts where delivery_id = ? and attempt < ? order by attempt desc limit 1
     ),
     ins as (
       insert into attempts (${ATTEMPT_COLUMNS.map((c) => `"${c}"`).join(', ')}) values (${ATTEMPT_COLUMNS.map(() => '?').join(', ')})
       on conflict (delivery_id, attempt) do nothing
       returning 1
     ),
     counts as (
       insert into endpoint_attempt_counts as c
              (tenant_id, endpoint_id, shard, attempts, responses, response_ms, succeeded, failed, last_response_ms, last_response_at, last_triggered_at)
       select ?, ?, ${SHARD}, 1, ${v.answered ? 1 : 0}, ?::bigint, ${delta('succeeded')}, ${delta('failed')},
              ?::integer, ${v.answered ? 'now()' : 'null'}, ${v.reached ? 'now()' : 'null'}
        where exists (select 1 from ins)
       on conflict (endpoint_id, shard) do update
          set attempts = c.attempts + 1,
              responses = c.responses + excluded.responses,
              response_ms = c.response_ms + excluded.response_ms,
              succeeded = c.succeeded + excluded.succeeded,
              failed = c.failed + excluded.failed,
              last_response_ms = coalesce(excluded.last_response_ms, c.last_response_ms),
              last_response_at = coalesce(excluded.last_response_at, c.last_response_at),
              last_triggered_at = coalesce(excluded.last_triggered_at, c.last_triggered_at)
     ),
     health as (${health}),
     ep as (
       select ${ENDPOINT_AFTER} from health
       union all
       select ${v.reached && v.succeeded ? HEALTHY_AFTER : ENDPOINT_AFTER} from endpoints
        where tenant_id = ? and id = ? and exists (select 1 from ins) and not exists (select 1 from health)
     ),
     usage as (${usage})
     select (select count(*) from ins) as inserted,
            (select failing_since from ep) as failing_since,
            (select is_active from ep) as is_active,
            (select row_to_json(ep) from ep) as endpoint,
            (select delivery_status from prev) as previous_status,
            ${activeUsage} as active_usage`;
}

/**
 * Stores an attempt with everything it changes, in one statement: the attempt row; the
 * endpoint's running counts (attempts, answers and their time, and deliveries by the state their
 * latest attempt left them in: an attempt that follows a finished one moves its delivery across),
 * added to the shard row of this connection (migration 022), with the time it reached the
 * receiver; the endpoint's health when the attempt reached the receiver and it changes (a failure
 * starts `failing_since` unless it runs and counts the streak; a success after failures clears
 * them), so a healthy endpoint's row is never written by its attempts; the signing keys' usage,
 * in shard rows too. Returns the endpoint as the attempt left it (its kind, circuit and failure
 * streak) and the state the delivery's previous attempt left it in. Idempotent: storing the
 * same attempt again changes nothing.
 */
export async function storeAttempt(db: Db, row: AttemptRow, effects: AttemptEffects): Promise<StoredAttempt> {
  const answered = row.response_status !== null;
  const ms = Math.max(0, Math.round(row.duration_ms));
  const keys = effects.keyIds;
  const variant: RecordVariant = {
    answered,
    status: row.delivery_status === 'succeeded' || row.delivery_status === 'failed' ? row.delivery_status : 'other',
    succeeded: row.outcome === 'succeeded',
    reached: effects.reachedReceiver,
    keys: keys.length,
    readUsage: Boolean(effects.readActiveUsage) && keys.length > 0,
  };
  const text = RECORD_TEXTS.of(`${variant.answered} ${variant.status} ${variant.succeeded} ${variant.reached} ${variant.keys} ${variant.readUsage}`, () => recordStatement(variant));
  const result = await hotStatement(db, text, [
    row.delivery_id,
    row.attempt,
    ...ATTEMPT_COLUMNS.map((c) => row[c]),
    row.tenant_id,
    row.endpoint_id,
    answered ? ms : 0,
    answered ? ms : null,
    ...(effects.reachedReceiver ? [row.tenant_id, row.endpoint_id] : []),
    row.tenant_id,
    row.endpoint_id,
    ...(keys.length > 0 ? [row.tenant_id, ...keys] : []),
    ...(variant.readUsage ? [keys[0], keys[0], keys[0]] : []),
  ]);
  const out = result.rows[0] as {
    inserted: string | number;
    failing_since: Date | null;
    is_active: boolean | null;
    endpoint: Record<string, unknown> | null;
    previous_status: string | null;
    active_usage: string | number | null;
  };
  const ep = out.endpoint;
  return {
    inserted: Number(out.inserted) > 0,
    endpoint: ep
      ? {
          kind: ep.kind as EndpointKind,
          name: (ep.name ?? null) as string | null,
          url: ep.url as string,
          consecutiveFailures: Number(ep.consecutive_failures),
          failingAlertedPercent: Number(ep.failing_alerted_percent),
          circuitState: ep.circuit_state as CircuitState,
          circuitOpenedAt: ep.circuit_opened_at ? new Date(ep.circuit_opened_at as string) : null,
          circuitFailureThreshold: ep.circuit_failure_threshold === null ? null : Number(ep.circuit_failure_threshold),
          circuitCooldownSeconds: ep.circuit_cooldown_seconds === null ? null : Number(ep.circuit_cooldown_seconds),
        }
      : null,
    previousDeliveryStatus: out.previous_status ?? null,
    health: effects.reachedReceiver && out.is_active !== null ? { failingSince: out.failing_since ?? null, isActive: Boolean(out.is_active) } : null,
    activeKeyUsage: out.active_usage === null ? null : Number(out.active_usage),
  };
}

/** The highest attempt number recorded for a delivery, 0 when none was. */
export async function lastAttemptNumber(db: Db, tenantId: string, deliveryId: string): Promise<number> {
  const row = await db('attempts').where({ tenant_id: tenantId, delivery_id: deliveryId }).max<{ n: number | null }>('attempt as n').first();
  return Number(row?.n ?? 0);
}

/**
 * The delivery's state as each recorded attempt of it left it (`retrying`, `succeeded`,
 * `failed`), by attempt number: the verdict beside each attempt's own outcome.
 */
export async function attemptVerdicts(db: Db, tenantId: string, deliveryId: string): Promise<Map<number, string | null>> {
  const rows: Array<{ attempt: number; delivery_status: string | null }> = await db('attempts')
    .select('attempt', 'delivery_status')
    .where({ tenant_id: tenantId, delivery_id: deliveryId });
  return new Map(rows.map((r) => [Number(r.attempt), r.delivery_status]));
}

/**
 * An attempt as the live stream shows it: no response excerpt or error message (a receiver's
 * words may carry anything), plus the event's type for filtering. `id` is the bigint row id as a
 * decimal string (pg returns bigint as a string, PGlite as a number).
 */
export interface StreamedAttemptRow {
  id: string;
  tenant_id: string;
  delivery_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  outcome: string;
  response_status: number | null;
  error_class: string | null;
  duration_ms: number;
  started_at: Date;
  delivery_status: string | null;
}

/** Conditions a stream subscriber can put on the attempts it reads. */
export interface AttemptStreamFilter {
  endpointId?: string;
  eventType?: string;
  deliveryStatus?: string;
}

const STREAMED_COLUMNS = [
  'a.id', 'a.tenant_id', 'a.delivery_id', 'a.endpoint_id', 'a.event_id', 'e.type as event_type', 'a.attempt', 'a.outcome',
  'a.response_status', 'a.error_class', 'a.duration_ms', 'a.started_at', 'a.delivery_status',
];

function streamedAttempts(db: Db, afterId: bigint, limit: number) {
  return db('attempts as a')
    .join('events as e', 'e.id', 'a.event_id')
    .select(STREAMED_COLUMNS)
    .where('a.id', '>', afterId.toString())
    .orderBy('a.id', 'asc')
    .limit(limit);
}

const normalized = (rows: Array<StreamedAttemptRow & { id: string | number }>): StreamedAttemptRow[] =>
  rows.map((r) => ({ ...r, id: String(r.id), started_at: new Date(r.started_at) }));

/** Every tenant's attempts with an id above `afterId`, oldest first: what the stream poller reads. */
export async function attemptsAfter(db: Db, afterId: bigint, limit: number): Promise<StreamedAttemptRow[]> {
  return normalized(await streamedAttempts(db, afterId, limit));
}

/** One tenant's attempts above `afterId` that pass `filter`, oldest first: a stream's replay. */
export async function tenantAttemptsAfter(db: Db, tenantId: string, afterId: bigint, filter: AttemptStreamFilter, limit: number): Promise<StreamedAttemptRow[]> {
  const q = streamedAttempts(db, afterId, limit).andWhere('a.tenant_id', tenantId);
  if (filter.endpointId) q.andWhere('a.endpoint_id', filter.endpointId);
  if (filter.eventType) q.andWhere('e.type', filter.eventType);
  if (filter.deliveryStatus) q.andWhere('a.delivery_status', filter.deliveryStatus);
  return normalized(await q);
}

/** The highest attempt id recorded (0 when none): where a stream without a resume point starts. */
export async function latestAttemptId(db: Db): Promise<bigint> {
  const row = await db('attempts').max<{ n: string | number | null }>('id as n').first();
  return BigInt(row?.n ?? 0);
}
