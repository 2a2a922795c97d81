import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CIRCUIT_STATES, type CircuitState } from './domain/circuit';
import type { AttemptResult } from './domain/delivery';
import { bearerMatches } from './security/bearer';

/** API answers are quick; the long tail is Temporal or the database being slow. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Attempts wait for a receiver, up to the longest per-attempt timeout (120 s). */
const ATTEMPT_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120];

/**
 * An ingest request's parts take milliseconds when the machine is idle and tens of them when it
 * is busy: fine buckets there, so the quantiles of each part can be read apart.
 */
const INGEST_PART_BUCKETS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5];

/** The parts of an ingest request timed apart (`webhooks_ingest_part_duration_seconds`), in the order they happen. */
export const INGEST_PARTS = ['admit', 'store', 'starts', 'relayed'] as const;
export type IngestPart = (typeof INGEST_PARTS)[number];

/** A relay request carries 1 to 64 delivery starts. */
const RELAY_STARTS_BUCKETS = [1, 2, 4, 8, 16, 32, 64];

/** Eager starts wait at most a second for a free workflow-task slot (EAGER_ROOM_WAIT_MS). */
const ROOM_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** What the metrics read of a worker's workflow-task slots (`WorkflowTaskSlots`). */
export interface WorkflowTaskSlotsView {
  readonly size: number;
  readonly free: number;
  readonly running: number;
  onRoomWait(listener: (seconds: number, timedOut: boolean) => void): void;
}

/** Whether an ingested event was stored now or answered from an earlier request's idempotency key. */
export type IngestResult = 'created' | 'duplicate';

/** Kinds of SQL statement counted, from the statement's first word (`with`: a CTE); anything else is `other`. */
const STATEMENT_KINDS = new Set(['select', 'insert', 'update', 'delete', 'with', 'begin', 'commit', 'rollback']);

/** What {@link Metrics.countQueriesOf} needs of a knex instance: its `query` event. */
export interface QueryEvents {
  on(event: 'query', listener: (query: { sql?: unknown }) => void): unknown;
}

/** The kind label of one statement: its first SQL word when it is a known one, else `other`. */
export function statementKind(sql: unknown): string {
  const word = typeof sql === 'string' ? /^\s*([A-Za-z]+)/.exec(sql)?.[1]?.toLowerCase() : undefined;
  return word !== undefined && STATEMENT_KINDS.has(word) ? word : 'other';
}

/**
 * The process's Prometheus metrics. Labels are bounded sets only (methods, route patterns,
 * statuses, outcomes, error classes), never tenant, endpoint, event or delivery ids.
 */
export interface Metrics {
  /** The registry served at `/metrics`: these metrics plus Node's default process metrics. */
  readonly registry: Registry;
  /** One answered HTTP request; `route` is the matched Express pattern or `unmatched`. */
  observeHttpRequest(method: string, route: string, status: number, seconds: number): void;
  /** One event accepted by ingest. */
  countIngestedEvent(result: IngestResult): void;
  /**
   * How long one part of an ingest (`POST /events`, an inbound webhook, a test event) took:
   * `store` (the statement that reads the event type and the subscribed endpoints, the payload's
   * checks, then the statement that stores the event and its deliveries), `starts` (the
   * deliveries' workflow starts, through a worker's start relay or this process's client, until
   * Temporal answered), `relayed` (on a worker: a start relay request, from its arrival until
   * Temporal answered each start it carried). What a slow ingest waited for: the database, the
   * relay's hops, or Temporal.
   */
  observeIngestPart(part: IngestPart, seconds: number): void;
  /** Deliveries ingest started directly, `eager` of them started eagerly (their first task handed to the worker that made the start: this process's, or a worker's start relay). */
  countDeliveryStarts(started: number, eager: number): void;
  /** One request of the API to a worker's start relay, with how many starts it carried: `answered` (200), else the API made them itself. */
  observeRelayRequest(starts: number, answered: boolean): void;
  /** One answered inbound webhook: its result code, and whether the guard resolved its source. */
  countInboundRequest(result: string, sourceKnown: boolean): void;
  /** One recorded delivery attempt. */
  observeDeliveryAttempt(result: Pick<AttemptResult, 'outcome' | 'errorClass' | 'durationMs'>): void;
  /** One operational event stored for its operational endpoints (`duplicate`: emitted again, sent once). */
  countOperationalEvent(type: string, result: IngestResult): void;
  /** An endpoint's circuit changed state (`open`, `half_open`: a probe taken, `closed`). */
  countCircuitTransition(to: CircuitState): void;
  /** An attempt waited on a circuit that was not closed, instead of sending. */
  countCircuitWait(): void;
  /**
   * Serves `webhooks_endpoint_circuits` (endpoints whose circuit is open or half-open, all
   * tenants), read with `count` at each scrape. Once per registry; a failed read leaves the last values.
   */
  gaugeCircuits(count: () => Promise<Partial<Record<CircuitState, number>>>): void;
  /**
   * Counts every SQL statement `db` sends (transaction BEGIN/COMMIT included), by kind. Once per
   * database handle: an API and a worker sharing one handle and one registry count each once.
   */
  countQueriesOf(db: QueryEvents): void;
  /**
   * Serves a worker's workflow-task slots (`webhooks_worker_workflow_task_slots`: free, running, reserved;
   * read at each scrape) and how long its eager starts waited for them. Once per registry.
   */
  watchWorkflowTaskSlots(slots: WorkflowTaskSlotsView): void;
  /** The exposition text of every metric, and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

/**
 * Builds a fresh registry. One per process (API and worker share it when they run together);
 * never prom-client's global registry, so test stacks in one process do not see each other's counts.
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const httpRequests = new Counter({
    name: 'webhooks_http_requests_total',
    help: 'HTTP requests answered by the API, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'webhooks_http_request_duration_seconds',
    help: 'Time to answer an API request, by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: HTTP_BUCKETS,
    registers,
  });
  const eventsIngested = new Counter({
    name: 'webhooks_events_ingested_total',
    help: 'Events accepted by ingest: created (stored now) or duplicate (same idempotency key as an earlier event)',
    labelNames: ['result'] as const,
    registers,
  });
  const ingestParts = new Histogram({
    name: 'webhooks_ingest_part_duration_seconds',
    help: "Time of the parts of an ingest (POST /events, inbound webhooks, test events): admit (POST /events only: from the request's arrival until ingest began: its body read and parsed, the caller authenticated, the input checked), store (reading the event type and the subscribed endpoints, checking the payload, storing the event and its deliveries), starts (the deliveries' workflow starts, until Temporal answered) and relayed (on a worker, its start relay's share of the API's starts: from a relay request's arrival until Temporal answered each start it carried)",
    labelNames: ['part'] as const,
    buckets: INGEST_PART_BUCKETS,
    registers,
  });
  const deliveryStarts = new Counter({
    name: 'webhooks_delivery_starts_total',
    help: "Delivery workflows started by ingest, by how their first workflow task reached a worker: eager (in the start's answer, to the worker that made the start: this process's, or the one whose start relay made it) or queued (through the task queue)",
    labelNames: ['first_task'] as const,
    registers,
  });
  const relayRequests = new Counter({
    name: 'webhooks_start_relay_requests_total',
    help: "The API's requests to the workers' start relays, by result: answered (the worker made the starts) or fallback (unreachable, refused or too slow: the API made them itself)",
    labelNames: ['result'] as const,
    registers,
  });
  const relayStarts = new Histogram({
    name: 'webhooks_start_relay_request_starts',
    help: "Delivery starts per request to a worker's start relay (under load one request carries the starts of several ingest requests)",
    buckets: RELAY_STARTS_BUCKETS,
    registers,
  });
  const inbound = new Counter({
    name: 'webhooks_inbound_requests_total',
    help: 'Inbound webhooks answered, by result code and whether their source was known (unknown ones leave no telemetry row)',
    labelNames: ['result', 'source'] as const,
    registers,
  });
  const attempts = new Counter({
    name: 'webhooks_delivery_attempts_total',
    help: 'Delivery attempts recorded by the worker, by outcome and error class ("none" on success)',
    labelNames: ['outcome', 'error_class'] as const,
    registers,
  });
  const attemptDuration = new Histogram({
    name: 'webhooks_delivery_attempt_duration_seconds',
    help: 'Duration of one delivery attempt (request sent to response read), by outcome',
    labelNames: ['outcome'] as const,
    buckets: ATTEMPT_BUCKETS,
    registers,
  });
  const queries = new Counter({
    name: 'webhooks_db_queries_total',
    help: 'SQL statements sent to the database by this process (BEGIN and COMMIT included), by kind',
    labelNames: ['kind'] as const,
    registers,
  });
  const operational = new Counter({
    name: 'webhooks_operational_events_total',
    help: 'Operational events stored for operational endpoints, by type and result (duplicate: emitted again, sent once)',
    labelNames: ['type', 'result'] as const,
    registers,
  });
  const circuitTransitions = new Counter({
    name: 'webhooks_circuit_transitions_total',
    help: 'Endpoint circuits changing state, by the state entered (open, half_open: a probe taken, closed)',
    labelNames: ['to'] as const,
    registers,
  });
  const circuitWaits = new Counter({
    name: 'webhooks_circuit_waits_total',
    help: 'Attempts that waited on an open or half-open circuit instead of sending',
    registers,
  });
  let circuitCount: (() => Promise<Partial<Record<CircuitState, number>>>) | null = null;
  new Gauge({
    name: 'webhooks_endpoint_circuits',
    help: 'Live endpoints whose circuit is open or half_open, by state, all tenants, read at each scrape',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      if (!circuitCount) return;
      const counts = await circuitCount().catch(() => null);
      if (counts) for (const state of CIRCUIT_STATES.filter((s) => s !== 'closed')) this.set({ state }, counts[state] ?? 0);
    },
  });
  let watchedSlots: WorkflowTaskSlotsView | null = null;
  new Gauge({
    name: 'webhooks_worker_workflow_task_slots',
    help: "The worker's workflow-task slots (WORKER_MAX_CONCURRENT_WORKFLOW_TASKS), by state: free, running (a workflow task), or reserved (by an open poll, or set aside for eager starts); read at each scrape",
    labelNames: ['state'] as const,
    registers,
    collect() {
      if (!watchedSlots) return;
      this.set({ state: 'free' }, watchedSlots.free);
      this.set({ state: 'running' }, watchedSlots.running);
      this.set({ state: 'reserved' }, watchedSlots.size - watchedSlots.free - watchedSlots.running);
    },
  });
  const roomWaits = new Histogram({
    name: 'webhooks_delivery_start_room_wait_seconds',
    help: "How long ingest's eager delivery starts waited for the worker to have a free workflow-task slot for each, by result: room (found) or timeout (started anyway after a second; those without a slot are queued)",
    labelNames: ['result'] as const,
    buckets: ROOM_WAIT_BUCKETS,
    registers,
  });
  const watched = new WeakSet<QueryEvents>();

  return {
    registry,
    observeHttpRequest(method, route, status, seconds) {
      httpRequests.inc({ method, route, status: String(status) });
      httpDuration.observe({ method, route }, seconds);
    },
    countIngestedEvent(result) {
      eventsIngested.inc({ result });
    },
    observeIngestPart(part, seconds) {
      ingestParts.observe({ part }, seconds);
    },
    countDeliveryStarts(started, eager) {
      if (eager > 0) deliveryStarts.inc({ first_task: 'eager' }, eager);
      if (started > eager) deliveryStarts.inc({ first_task: 'queued' }, started - eager);
    },
    observeRelayRequest(starts, answered) {
      relayRequests.inc({ result: answered ? 'answered' : 'fallback' });
      relayStarts.observe(starts);
    },
    countInboundRequest(result, sourceKnown) {
      inbound.inc({ result, source: sourceKnown ? 'known' : 'unknown' });
    },
    observeDeliveryAttempt({ outcome, errorClass, durationMs }) {
      attempts.inc({ outcome, error_class: errorClass ?? 'none' });
      attemptDuration.observe({ outcome }, durationMs / 1000);
    },
    countOperationalEvent(type, result) {
      operational.inc({ type, result });
    },
    countCircuitTransition(to) {
      circuitTransitions.inc({ to });
    },
    countCircuitWait() {
      circuitWaits.inc();
    },
    gaugeCircuits(count) {
      circuitCount ??= count;
    },
    countQueriesOf(db) {
      if (watched.has(db)) return;
      watched.add(db);
      db.on('query', (query) => queries.inc({ kind: statementKind(query.sql) }));
    },
    watchWorkflowTaskSlots(slots) {
      if (watchedSlots) return;
      watchedSlots = slots;
      slots.onRoomWait((seconds, timedOut) => roomWaits.observe({ result: timedOut ? 'timeout' : 'room' }, seconds));
    },
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/**
 * Whether a scrape may read `/metrics`: always when no METRICS_TOKEN is configured, else only with
 * `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time).
 */
export function scrapeAllowed(token: string | undefined, authorization: string | undefined): boolean {
  return !token || bearerMatches(token, authorization);
}
