import { storeAttempt } from '../../src/db/attempts-repo';
import { insertEventWithDeliveries } from '../../src/db/events-repo';
import { newDeliveries } from '../../src/services/ingest';
import { newId } from '../../src/ids';
import type { Receiver } from '../helpers/receiver';
import { eventually, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

let stack: Stack;
let receiver: Receiver;
let endpointId: string;

const stats = (query: Record<string, string> = {}, id = endpointId) =>
  stack.call('GET', `/api/v1/endpoints/${id}/stats?${new URLSearchParams(query).toString()}`);
const sum = (series: Array<{ attempts: number }>) => series.reduce((n, b) => n + b.attempts, 0);

/** [started_at, outcome, response_status, error_class, duration_ms, delivery_status after it] */
type PastAttempt = [string, string, number | null, string | null, number, string];

/** A delivery of a new event, stored directly with attempts in the past (no workflow runs). */
async function pastDelivery(type: string, attempts: PastAttempt[]): Promise<void> {
  const eventId = newId('evt');
  const { event, deliveries } = await insertEventWithDeliveries(stack.db, 'default', { id: eventId, type, body: '{}', idempotencyKey: null }, newDeliveries(eventId, [endpointId]));
  for (const [i, [at, outcome, status, errorClass, durationMs, deliveryStatus]] of attempts.entries()) {
    await storeAttempt(stack.db, {
      tenant_id: 'default',
      delivery_id: deliveries[0]!.id,
      endpoint_id: endpointId,
      event_id: event.id,
      attempt: i + 1,
      outcome,
      started_at: new Date(at),
      duration_ms: durationMs,
      response_status: status,
      error_class: errorClass,
      error_message: null,
      response_excerpt: null,
      delivery_status: deliveryStatus,
    }, { reachedReceiver: false, keyIds: [] });
  }
}

beforeAll(async () => {
  ({ stack, receiver } = await startStackWithReceiver());
  // Each event's payload says what the receiver answers.
  receiver.respond((req) => ({ status: (JSON.parse(req.body) as { data: { answer: number } }).data.answer }));
  const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/stats', events: ['stats.created', 'stats.updated'], retry_config: { max_retries: 0 } });
  endpointId = created.body.data.id;

  const answers: Array<[string, number]> = [['stats.created', 200], ['stats.created', 200], ['stats.created', 200], ['stats.created', 503], ['stats.updated', 404], ['stats.updated', 200]];
  for (const [type, answer] of answers) await stack.call('POST', '/api/v1/events', { type, payload: { answer } });
  await eventually(async () => {
    const done = await stack.db('attempts').where({ endpoint_id: endpointId }).whereIn('delivery_status', ['succeeded', 'failed']).count<{ n: string }[]>({ n: '*' });
    return Number(done[0]!.n) === answers.length ? true : undefined;
  }, 60_000, 'six finished deliveries');

  // 2025-03-03 is a Monday: hours, days, weeks and months all have known boundaries around it.
  await pastDelivery('stats.history', [['2025-03-03T10:05:00Z', 'retryable', 503, 'http_5xx', 300, 'retrying'], ['2025-03-03T10:20:00Z', 'succeeded', 200, null, 200, 'succeeded']]);
  await pastDelivery('stats.history', [['2025-03-03T09:45:00Z', 'succeeded', 200, null, 100, 'succeeded']]);
  await pastDelivery('stats.history', [['2025-03-03T09:10:00Z', 'retryable', 503, 'http_5xx', 10, 'retrying'], ['2025-03-03T09:50:00Z', 'retryable', 503, 'http_5xx', 40, 'failed']]);
  await pastDelivery('stats.other', [['2025-03-03T12:59:59.999Z', 'failed', 404, 'http_4xx', 50, 'failed']]);
  await pastDelivery('stats.other', [['2025-03-03T13:30:00Z', 'retryable', null, 'timeout', 3000, 'retrying']]);
  await pastDelivery('stats.other', [['2025-03-03T14:00:00Z', 'succeeded', 200, null, 70, 'succeeded']]);
  await pastDelivery('stats.history', [['2025-03-02T23:30:00Z', 'succeeded', 200, null, 20, 'succeeded']]);
});
afterAll(() => stopAll(stack, receiver));

describe('when deliveries succeeded and failed in the last days', () => {
  it('then the default range (7 days by day) counts them by event type, error and in total', async () => {
    const res = await stats();
    expect(res.status).toBe(200);
    const data = res.body.data;
    expect(data.group_by).toBe('day');
    expect(Date.parse(data.until) - Date.parse(data.since)).toBe(7 * 86_400_000);
    // An unaligned window touches 8 days: part of the first, 6 whole ones, part of today.
    expect(data.series).toHaveLength(8);
    expect(sum(data.series)).toBe(6);
    expect(data.by_event_type).toEqual([
      { event_type: 'stats.created', deliveries: 4, succeeded: 3, failed: 1 },
      { event_type: 'stats.updated', deliveries: 2, succeeded: 1, failed: 1 },
    ]);
    expect(data.errors).toEqual([
      { error_class: 'http_4xx', response_status: 404, count: 1 },
      { error_class: 'http_5xx', response_status: 503, count: 1 },
    ]);
    expect(data.totals).toMatchObject({ attempts: 6, succeeded_attempts: 4, failed_attempts: 2, deliveries: 6, succeeded_deliveries: 4, failed_deliveries: 2, success_rate: 66.7 });
    expect(data.totals.avg_response_time_ms).toEqual(expect.any(Number));
  });

  it('then grouping by week covers 12 weeks by default', async () => {
    const res = await stats({ group_by: 'week' });
    expect(res.status).toBe(200);
    expect(Date.parse(res.body.data.until) - Date.parse(res.body.data.since)).toBe(84 * 86_400_000);
    expect(res.body.data.series).toHaveLength(13);
    expect(sum(res.body.data.series)).toBe(6);
  });
});

describe('when attempts were recorded in earlier hours', () => {
  it('then the hourly series has one zero-filled row per hour and only attempts within [since, until)', async () => {
    // 10:30+01:00 is 09:30Z: the 09:10 attempt is before the range, the 14:00 one at its (exclusive) end.
    const res = await stats({ group_by: 'hour', since: '2025-03-03T10:30:00+01:00', until: '2025-03-03T14:00:00Z' });
    expect(res.status).toBe(200);
    const data = res.body.data;
    expect(data).toMatchObject({ group_by: 'hour', since: '2025-03-03T09:30:00.000Z', until: '2025-03-03T14:00:00.000Z' });
    const empty = { attempts: 0, succeeded_attempts: 0, failed_attempts: 0, avg_response_time_ms: null, p95_response_time_ms: null };
    expect(data.series).toEqual([
      { bucket_start: '2025-03-03T09:00:00.000Z', attempts: 2, succeeded_attempts: 1, failed_attempts: 1, avg_response_time_ms: 70, p95_response_time_ms: 97 },
      { bucket_start: '2025-03-03T10:00:00.000Z', attempts: 2, succeeded_attempts: 1, failed_attempts: 1, avg_response_time_ms: 250, p95_response_time_ms: 295 },
      { bucket_start: '2025-03-03T11:00:00.000Z', ...empty },
      { bucket_start: '2025-03-03T12:00:00.000Z', attempts: 1, succeeded_attempts: 0, failed_attempts: 1, avg_response_time_ms: 50, p95_response_time_ms: 50 },
      // A timeout got no answer: it counts as an attempt, not as a response time.
      { bucket_start: '2025-03-03T13:00:00.000Z', attempts: 1, succeeded_attempts: 0, failed_attempts: 1, avg_response_time_ms: null, p95_response_time_ms: null },
    ]);
    // Each delivery by its latest attempt in the range: the one retried at 10:05 succeeded at 10:20.
    expect(data.by_event_type).toEqual([
      { event_type: 'stats.history', deliveries: 3, succeeded: 2, failed: 1 },
      { event_type: 'stats.other', deliveries: 2, succeeded: 0, failed: 1 },
    ]);
    expect(data.errors).toEqual([
      { error_class: 'http_5xx', response_status: 503, count: 2 },
      { error_class: 'http_4xx', response_status: 404, count: 1 },
      { error_class: 'timeout', response_status: null, count: 1 },
    ]);
    expect(data.totals).toEqual({
      attempts: 6, succeeded_attempts: 2, failed_attempts: 4, avg_response_time_ms: 138, p95_response_time_ms: 280,
      deliveries: 5, succeeded_deliveries: 2, failed_deliveries: 2, success_rate: 50,
    });
  });

  it('then days, Monday weeks and months bucket them in UTC', async () => {
    const starts = (data: { series: Array<{ bucket_start: string; attempts: number }> }) => data.series.map((b) => [b.bucket_start.slice(0, 10), b.attempts]);
    const days = await stats({ group_by: 'day', since: '2025-03-01T00:00:00Z', until: '2025-03-08T00:00:00Z' });
    expect(starts(days.body.data)).toEqual([['2025-03-01', 0], ['2025-03-02', 1], ['2025-03-03', 8], ['2025-03-04', 0], ['2025-03-05', 0], ['2025-03-06', 0], ['2025-03-07', 0]]);
    const weeks = await stats({ group_by: 'week', since: '2025-02-01T00:00:00Z', until: '2025-04-01T00:00:00Z' });
    expect(starts(weeks.body.data)).toEqual([
      ['2025-01-27', 0], ['2025-02-03', 0], ['2025-02-10', 0], ['2025-02-17', 0], ['2025-02-24', 1],
      ['2025-03-03', 8], ['2025-03-10', 0], ['2025-03-17', 0], ['2025-03-24', 0], ['2025-03-31', 0],
    ]);
    const months = await stats({ group_by: 'month', since: '2025-01-15T00:00:00Z', until: '2025-05-01T00:00:00Z' });
    expect(starts(months.body.data)).toEqual([['2025-01-01', 0], ['2025-02-01', 0], ['2025-03-01', 9], ['2025-04-01', 0]]);
    expect(months.body.data.totals).toMatchObject({ attempts: 9, deliveries: 7, succeeded_deliveries: 4, failed_deliveries: 2 });
  });
});

describe('when the query is not a sensible range', () => {
  const refused = async (query: Record<string, string>, path: string) => {
    const res = await stats(query);
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ ok: false, err: 'validation_failed' });
    expect(res.body.details.map((d: { path: string }) => d.path)).toContain(path);
  };

  it('then an unknown group_by is refused with 422', () => refused({ group_by: 'minute' }, 'query.group_by'));

  it('then since at or after until is refused with 422', async () => {
    await refused({ since: '2025-03-04T00:00:00Z', until: '2025-03-03T00:00:00Z' }, 'query.since');
    await refused({ since: '2025-03-03T00:00:00Z', until: '2025-03-03T00:00:00Z' }, 'query.since');
    await refused({ since: '2999-01-01T00:00:00Z' }, 'query.since'); // until defaults to now
  });

  it('then 1000 buckets are answered and 1001 refused with 422', async () => {
    const ok = await stats({ group_by: 'hour', since: '2025-01-01T00:00:00Z', until: '2025-02-11T16:00:00Z' });
    expect(ok.status).toBe(200);
    expect(ok.body.data.series).toHaveLength(1000);
    await refused({ group_by: 'hour', since: '2025-01-01T00:00:00Z', until: '2025-02-11T16:00:00.001Z' }, 'query.group_by');
    await refused({ group_by: 'day', since: '2020-01-01T00:00:00Z', until: '2025-01-01T00:00:00Z' }, 'query.group_by');
  });

  it('then a time without offset or an unknown parameter is refused with 422', async () => {
    await refused({ since: '2025-03-03T09:30:00' }, 'query.since');
    await refused({ bucket: 'day' }, 'query.bucket');
  });
});

describe('when the endpoint does not exist', () => {
  it('then 404', async () => {
    const res = await stats({}, 'ep_' + '0'.repeat(26));
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ ok: false, err: 'not_found' });
  });
});
