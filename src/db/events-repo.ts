import { hotStatement, StatementTexts, type Db } from './knex';
import type { RetryConfig } from '../domain/retry-config';
import { AppError, NotFoundError } from '../errors';
import { idTime } from '../ids';
import { purgedSpan } from './retention-repo';

export interface EventRecord {
  id: string;
  tenant_id: string;
  type: string;
  idempotency_key: string | null;
  created_at: Date;
  dispatched_at: Date | null;
}

export interface DeliveryRecord {
  id: string;
  tenant_id: string;
  event_id: string;
  endpoint_id: string;
  workflow_id: string;
  /** Its place in a FIFO endpoint's line (a bigint, as text from pg); null when unordered. */
  sequence: string | number | null;
  created_at: Date;
}

export interface EventWithDeliveries {
  event: EventRecord;
  deliveries: DeliveryRecord[];
  /** False when the event already existed under the same idempotency key. */
  created: boolean;
  /** SHA-256 of the canonical request that created the event; null for events stored before it was kept. */
  requestHash: string | null;
}

const EVENT_COLUMNS = ['id', 'tenant_id', 'type', 'idempotency_key', 'created_at', 'dispatched_at'] as const;
/** Events with up to this many deliveries are stored by a prepared statement (one per count, on every connection). */
const PREPARED_MAX_DELIVERIES = 8;

/** A delivery to store with its event; its ids are minted by the caller. */
export interface NewDelivery {
  id: string;
  endpointId: string;
  workflowId: string;
}

async function findByIdempotencyKey(db: Db, tenantId: string, key: string): Promise<EventWithDeliveries | null> {
  const row = await db('events').select([...EVENT_COLUMNS, 'request_hash']).where({ tenant_id: tenantId, idempotency_key: key }).first();
  if (!row) return null;
  const { request_hash: requestHash, ...event } = row as EventRecord & { request_hash: string | null };
  const deliveries = await db('deliveries').where({ event_id: event.id }).orderBy('id');
  return { event, deliveries, created: false, requestHash };
}

/** The text that stores an event with `n` deliveries. */
function eventStatement(n: number): string {
  const values = Array.from({ length: n }, () => '(?, ?, ?, ?, ?)').join(', ');
  return `with ev as (
       insert into events (id, tenant_id, type, body, idempotency_key, request_hash, dispatched_at)
       values (?, ?, ?, ?, ?, ?, ${n === 0 ? 'now()' : 'null'})
       on conflict do nothing
       returning ${EVENT_COLUMNS.join(', ')}
     ),
     seq as (
       ${n === 0 ? 'select null::text as id, null::bigint as fifo_last_sequence where false' : `update endpoints set fifo_last_sequence = fifo_last_sequence + 1
        where tenant_id = ? and ordering = 'fifo' and id in (${Array.from({ length: n }, () => '?').join(', ')}) and exists (select 1 from ev)
       returning id, fifo_last_sequence`}
     ),
     dl as (
       ${n === 0 ? 'select null where false' : `insert into deliveries (id, tenant_id, event_id, endpoint_id, workflow_id, sequence)
       select d.id, d.tenant_id, d.event_id, d.endpoint_id, d.workflow_id, seq.fifo_last_sequence
         from (values ${values}) as d(id, tenant_id, event_id, endpoint_id, workflow_id)
         left join seq on seq.id = d.endpoint_id
        where exists (select 1 from ev)
       returning *`}
     )
     select (select row_to_json(ev) from ev) as event,
            ${n === 0 ? "'[]'::json" : "coalesce((select json_agg(dl order by dl.id) from dl), '[]'::json)"} as deliveries`;
}

/** The texts for the usual few deliveries, one per number of them: prepared. */
const EVENT_TEXTS = new StatementTexts();

/**
 * Stores an event (its body exactly as it will be sent) with one delivery per endpoint, in one
 * statement (atomic: both or neither). With an idempotency key the tenant already used, stores
 * nothing and returns the stored event; two requests racing with one key get the same event.
 */
export async function insertEventWithDeliveries(
  db: Db,
  tenantId: string,
  input: { id: string; type: string; body: string; idempotencyKey: string | null; requestHash?: string | null },
  deliveries: readonly NewDelivery[],
): Promise<EventWithDeliveries> {
  const prepared = deliveries.length <= PREPARED_MAX_DELIVERIES;
  const sql = prepared ? EVENT_TEXTS.of(String(deliveries.length), () => eventStatement(deliveries.length)) : eventStatement(deliveries.length);
  const bindings = [
    input.id, tenantId, input.type, input.body, input.idempotencyKey, input.requestHash ?? null,
    ...(deliveries.length === 0 ? [] : [tenantId, ...deliveries.map((d) => d.endpointId)]),
    ...deliveries.flatMap((d) => [d.id, tenantId, input.id, d.endpointId, d.workflowId]),
  ];
  // One text per number of deliveries: prepared for the usual few, planned on each call for a wide fan-out.
  const result = await (prepared ? hotStatement(db, sql, bindings) : db.raw(sql, bindings));
  const row = result.rows[0] as { event: Record<string, unknown> | null; deliveries: Array<Record<string, unknown>> };
  if (row.event) {
    return { event: asEvent(row.event), deliveries: row.deliveries.map(asDelivery), created: true, requestHash: input.requestHash ?? null };
  }
  // Nothing stored: the idempotency key was taken (by an earlier request, or one that raced us).
  const existing = input.idempotencyKey ? await findByIdempotencyKey(db, tenantId, input.idempotencyKey) : null;
  if (!existing) throw new Error(`event ${input.id} was not stored`);
  return existing;
}

/** JSON rows (from row_to_json) carry timestamps as text. */
const asDate = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string));
const asEvent = (r: Record<string, unknown>): EventRecord => ({ ...(r as unknown as EventRecord), created_at: asDate(r.created_at)!, dispatched_at: asDate(r.dispatched_at) });
const asDelivery = (r: Record<string, unknown>): DeliveryRecord => ({ ...(r as unknown as DeliveryRecord), created_at: asDate(r.created_at)! });

export async function markDispatched(db: Db, eventId: string): Promise<void> {
  await markAllDispatched(db, [eventId]);
}

async function markAllDispatched(db: Db, eventIds: readonly string[]): Promise<void> {
  await db('events').whereIn('id', eventIds).whereNull('dispatched_at').update({ dispatched_at: db.fn.now() });
}

/** How long marks wait to share one statement; at most this many share it. */
const MARK_BATCH_MS = 100;
const MARK_BATCH_MAX = 500;

/**
 * The outbox marks of one process, written together: a mark waits up to {@link MARK_BATCH_MS}
 * for others, then one UPDATE sets them all. For marks nobody waits for (ingest answers first):
 * one lost with its process only sends the outbox sweep to start deliveries already started.
 */
class DispatchMarks {
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    private readonly onError: (err: unknown, eventIds: string[]) => void,
  ) {}

  add(eventId: string): void {
    this.pending.add(eventId);
    if (this.pending.size >= MARK_BATCH_MAX) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), MARK_BATCH_MS).unref();
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ids = [...this.pending];
    this.pending.clear();
    if (ids.length > 0) markAllDispatched(this.db, ids).catch((err: unknown) => this.onError(err, ids));
  }
}

const marksByDb = new WeakMap<Db, DispatchMarks>();

/**
 * Marks an event dispatched soon, in one statement with the other marks of the next
 * {@link MARK_BATCH_MS} on the same pool. A batch the database refused is reported to the
 * `onError` of the pool's first call (one process, one logger).
 */
export function markDispatchedSoon(db: Db, eventId: string, onError: (err: unknown, eventIds: string[]) => void): void {
  let marks = marksByDb.get(db);
  if (!marks) marksByDb.set(db, (marks = new DispatchMarks(db, onError)));
  marks.add(eventId);
}

/** An event whose deliveries may never have been started. */
export interface UndispatchedEvent {
  id: string;
  tenant_id: string;
  type: string;
}

/**
 * The outbox: events stored at least `graceSeconds` ago whose dispatch never completed, oldest
 * first, at most `limit` (read through the partial index on undispatched events).
 */
export async function listUndispatchedEvents(db: Db, graceSeconds: number, limit: number): Promise<UndispatchedEvent[]> {
  return db('events')
    .select('id', 'tenant_id', 'type')
    .whereNull('dispatched_at')
    .andWhere('created_at', '<', db.raw('now() - make_interval(secs => ?)', [graceSeconds]))
    .orderBy('created_at')
    .limit(limit);
}

/** The exact bytes to send for an event of the tenant. */
export async function getEventBody(db: Db, tenantId: string, eventId: string): Promise<string> {
  const row = await db('events').select('body').where({ tenant_id: tenantId, id: eventId }).first();
  if (!row) throw new NotFoundError('event', eventId);
  return row.body as string;
}

/** A delivery of a fan-out's page, with what its run shows of its endpoint. */
export interface DeliveryPageRow {
  deliveryId: string;
  endpointId: string;
  endpoint: { url: string; retryConfig: RetryConfig | null };
  /** Its place in a FIFO line (its endpoint's sequencer starts it); null when unordered. */
  sequence: number | null;
}

/** A page of an event's deliveries in id order (the fan-out workflow starts them page by page). */
export async function listDeliveryPage(db: Db, tenantId: string, eventId: string, afterDeliveryId: string | null, limit: number): Promise<DeliveryPageRow[]> {
  const query = db('deliveries as d')
    .join('endpoints as e', 'e.id', 'd.endpoint_id')
    .select('d.id', 'd.endpoint_id', 'd.sequence', 'e.url', 'e.retry_config')
    .where({ 'd.tenant_id': tenantId, 'd.event_id': eventId });
  if (afterDeliveryId) query.andWhere('d.id', '>', afterDeliveryId);
  const rows: Array<{ id: string; endpoint_id: string; sequence: string | number | null; url: string; retry_config: RetryConfig | null }> = await query.orderBy('d.id').limit(limit);
  return rows.map((r) => ({
    deliveryId: r.id,
    endpointId: r.endpoint_id,
    endpoint: { url: r.url, retryConfig: r.retry_config },
    sequence: r.sequence === null ? null : Number(r.sequence),
  }));
}

/** Delivery ids of an endpoint's workflows (the delivery log reads workflows from visibility). */
export async function deliveryIdsByWorkflow(db: Db, tenantId: string, endpointId: string, workflowIds: string[]): Promise<Map<string, string>> {
  if (workflowIds.length === 0) return new Map();
  const rows: Array<{ id: string; workflow_id: string }> = await db('deliveries')
    .select('id', 'workflow_id')
    .where({ tenant_id: tenantId, endpoint_id: endpointId })
    .whereIn('workflow_id', workflowIds);
  return new Map(rows.map((r) => [r.workflow_id, r.id]));
}

export interface EventListFilter {
  type?: string;
  since?: Date;
  until?: Date;
  limit: number;
  offset: number;
}

/** The tenant's events, newest first, each with how many deliveries it made. */
export async function listEvents(
  db: Db,
  tenantId: string,
  filter: EventListFilter,
): Promise<{ items: Array<EventRecord & { delivery_count: number }>; total: number }> {
  const query = () => {
    const q = db('events as e').where('e.tenant_id', tenantId);
    if (filter.type) q.andWhere('e.type', filter.type);
    if (filter.since) q.andWhere('e.created_at', '>=', filter.since);
    if (filter.until) q.andWhere('e.created_at', '<', filter.until);
    return q;
  };
  const deliveryCount = db('deliveries as d').count('*').whereRaw('d.event_id = e.id').as('delivery_count');
  const [items, [{ count }]] = await Promise.all([
    query()
      .select(EVENT_COLUMNS.map((c) => `e.${c}`))
      .select(deliveryCount)
      .orderBy('e.created_at', 'desc')
      .orderBy('e.id', 'desc')
      .limit(filter.limit)
      .offset(filter.offset),
    query().count<{ count: string | number }[]>({ count: '*' }),
  ]);
  return {
    items: items.map((row) => ({ ...(row as EventRecord), delivery_count: Number((row as { delivery_count: unknown }).delivery_count) })),
    total: Number(count),
  };
}

/** One event of the tenant with its stored body and its deliveries. */
export async function getEvent(db: Db, tenantId: string, id: string): Promise<EventRecord & { body: string; deliveries: DeliveryRecord[] }> {
  const event = await db('events').select([...EVENT_COLUMNS, 'body']).where({ tenant_id: tenantId, id }).first();
  if (!event) throw await missing(db, tenantId, 'event', id);
  const deliveries = await db('deliveries').where({ tenant_id: tenantId, event_id: id }).orderBy('id');
  return { ...(event as EventRecord & { body: string }), deliveries: deliveries as DeliveryRecord[] };
}

/** One delivery of the tenant with its event type. */
export async function getDelivery(
  db: Db,
  tenantId: string,
  id: string,
): Promise<DeliveryRecord & { event_type: string }> {
  const row = await db('deliveries as d')
    .join('events as e', 'e.id', 'd.event_id')
    .select('d.*', 'e.type as event_type')
    .where({ 'd.tenant_id': tenantId, 'd.id': id })
    .first();
  if (!row) throw await missing(db, tenantId, 'delivery', id);
  return row;
}

/**
 * Why a delivery or event is not there: 410 `delivery_purged` / `event_purged` when its id was
 * minted while the tenant existed and before its data was purged up to (retention, or a prune),
 * else 404 (an id older than the tenant was never its own).
 */
async function missing(db: Db, tenantId: string, resource: 'delivery' | 'event', id: string): Promise<AppError> {
  const minted = idTime(id);
  const span = minted ? await purgedSpan(db, tenantId) : null;
  if (minted && span && minted >= span.from && minted < span.before) {
    return new AppError(410, `${resource}_purged`, `${resource} ${id} is older than the tenant's data retention and was purged`);
  }
  return new NotFoundError(resource, id);
}
