import type { Db } from './knex';
import { FINISHED_COUNTS, latestAttempts, successRate, type TimeRange } from './endpoint-stats-repo';

/** Bucket sizes of a time series; each is a Postgres `date_trunc` field. */
export const GROUP_BY = ['hour', 'day', 'week', 'month'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/** A range of attempts cut into UTC buckets. */
export interface StatsRange extends TimeRange {
  groupBy: GroupBy;
}

/** Attempt figures of a bucket or of the whole range. */
export interface AttemptFigures {
  attempts: number;
  succeeded_attempts: number;
  /** Outcome `failed` or `retryable`. */
  failed_attempts: number;
  avg_response_time_ms: number | null;
  p95_response_time_ms: number | null;
}

export interface SeriesBucket extends AttemptFigures {
  bucket_start: string;
}

export interface EventTypeFigures {
  event_type: string;
  deliveries: number;
  succeeded: number;
  failed: number;
}

export interface ErrorFigures {
  error_class: string | null;
  response_status: number | null;
  count: number;
}

export interface RangeTotals extends AttemptFigures {
  deliveries: number;
  succeeded_deliveries: number;
  failed_deliveries: number;
  success_rate: number | null;
}

export interface RangeStats {
  series: SeriesBucket[];
  by_event_type: EventTypeFigures[];
  errors: ErrorFigures[];
  totals: RangeTotals;
}

/** Outcomes counted as failed attempts (also spelled out in `ATTEMPT_FIGURES`). */
const FAILED_OUTCOMES = ['failed', 'retryable'];

// Response times only of attempts that got an answer (as `deliveryStats` does): a timeout's
// duration is the client's limit, not the receiver's speed.
const ATTEMPT_FIGURES = [
  'count(a.outcome) as attempts',
  "count(*) filter (where a.outcome = 'succeeded') as succeeded_attempts",
  "count(*) filter (where a.outcome in ('failed', 'retryable')) as failed_attempts",
  'avg(a.duration_ms) filter (where a.response_status is not null) as avg_ms',
  'percentile_cont(0.95) within group (order by a.duration_ms) filter (where a.response_status is not null) as p95_ms',
];

type FiguresRow = Record<'attempts' | 'succeeded_attempts' | 'failed_attempts' | 'avg_ms' | 'p95_ms', unknown>;

// Durations are whole milliseconds already; a fraction would be noise.
const ms = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v)));

const figures = (row: FiguresRow | undefined): AttemptFigures => ({
  attempts: Number(row?.attempts ?? 0),
  succeeded_attempts: Number(row?.succeeded_attempts ?? 0),
  failed_attempts: Number(row?.failed_attempts ?? 0),
  avg_response_time_ms: ms(row?.avg_ms),
  p95_response_time_ms: ms(row?.p95_ms),
});

function attemptsIn(db: Db, tenantId: string, endpointId: string, range: TimeRange) {
  return db('attempts')
    .where({ tenant_id: tenantId, endpoint_id: endpointId })
    .where('started_at', '>=', range.since.toISOString())
    .where('started_at', '<', range.until.toISOString());
}

/**
 * One row per bucket, empty ones included. Buckets are computed on `timestamp` values in UTC
 * wall time, so neither `date_trunc` nor the month/day steps depend on the session's time zone.
 */
async function series(db: Db, tenantId: string, endpointId: string, range: StatsRange): Promise<SeriesBucket[]> {
  const { groupBy, since, until } = range;
  // The last bucket starts before `until` (exclusive); bounds carry milliseconds at most.
  const buckets = db.raw(
    `generate_series(date_trunc(?, ?::timestamptz at time zone 'UTC'), (?::timestamptz at time zone 'UTC') - interval '1 microsecond', ?::interval) as b(bucket)`,
    [groupBy, since.toISOString(), until.toISOString(), `1 ${groupBy}`],
  );
  const attempts = attemptsIn(db, tenantId, endpointId, range)
    .select('outcome', 'duration_ms', 'response_status', db.raw(`date_trunc(?, started_at at time zone 'UTC') as bucket`, [groupBy]))
    .as('a');
  const rows: Array<FiguresRow & { bucket_start: string }> = await db
    .from(buckets)
    .leftJoin(attempts, 'a.bucket', 'b.bucket')
    .groupBy('b.bucket')
    .orderBy('b.bucket')
    .select(db.raw(`to_char(b.bucket, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as bucket_start`), ...ATTEMPT_FIGURES.map((c) => db.raw(c)));
  return rows.map((r) => ({ bucket_start: r.bucket_start, ...figures(r) }));
}

/** Deliveries per event type, each counted by its latest attempt within the range. */
async function byEventType(db: Db, tenantId: string, endpointId: string, range: TimeRange): Promise<EventTypeFigures[]> {
  const rows: Array<{ event_type: string; deliveries: string; ok: string; failed: string }> = await db
    .from(latestAttempts(db, tenantId, [endpointId], range))
    .join('events', 'events.id', 'latest.event_id')
    .groupBy('events.type')
    .select('events.type as event_type', db.raw('count(*) as deliveries'), ...FINISHED_COUNTS.map((c) => db.raw(c)))
    .orderBy([{ column: 'deliveries', order: 'desc' }, { column: 'event_type' }]);
  return rows.map((r) => ({ event_type: r.event_type, deliveries: Number(r.deliveries), succeeded: Number(r.ok), failed: Number(r.failed) }));
}

/** Failed and retryable attempts by error class and response status, most frequent first. */
async function errors(db: Db, tenantId: string, endpointId: string, range: TimeRange): Promise<ErrorFigures[]> {
  const rows: Array<{ error_class: string | null; response_status: number | null; count: string }> = await attemptsIn(db, tenantId, endpointId, range)
    .whereIn('outcome', FAILED_OUTCOMES)
    .groupBy('error_class', 'response_status')
    .select('error_class', 'response_status', db.raw('count(*) as count'))
    .orderBy([{ column: 'count', order: 'desc' }, { column: 'error_class' }, { column: 'response_status' }]);
  return rows.map((r) => ({ error_class: r.error_class, response_status: r.response_status, count: Number(r.count) }));
}

/**
 * Statistics of one endpoint over a range, from recorded attempts: a zero-filled time series,
 * deliveries per event type, the error breakdown and totals. The caller checks that the endpoint
 * is the tenant's and that the range has a sensible number of buckets.
 */
export async function rangeStats(db: Db, tenantId: string, endpointId: string, range: StatsRange): Promise<RangeStats> {
  const [seriesRows, types, errorRows, totalRow] = await Promise.all([
    series(db, tenantId, endpointId, range),
    byEventType(db, tenantId, endpointId, range),
    errors(db, tenantId, endpointId, range),
    // Not summed from the series: the range's p95 cannot be derived from the buckets' p95s.
    db.from(attemptsIn(db, tenantId, endpointId, range).as('a')).select(ATTEMPT_FIGURES.map((c) => db.raw(c))).first() as Promise<FiguresRow | undefined>,
  ]);
  const sum = (pick: (t: EventTypeFigures) => number) => types.reduce((n, t) => n + pick(t), 0);
  const succeeded = sum((t) => t.succeeded);
  const failed = sum((t) => t.failed);
  return {
    series: seriesRows,
    by_event_type: types,
    errors: errorRows,
    totals: {
      ...figures(totalRow),
      deliveries: sum((t) => t.deliveries),
      succeeded_deliveries: succeeded,
      failed_deliveries: failed,
      success_rate: successRate(succeeded, succeeded + failed),
    },
  };
}
