import { z } from 'zod';
import { isoTimestamp } from './schemas';
import { GROUP_BY, type GroupBy, type StatsRange } from '../db/endpoint-range-stats-repo';

/** Most buckets one stats request may ask for: more is no chart, and costs one row each. */
export const MAX_BUCKETS = 1000;

const DAY_MS = 86_400_000;
const SIZE_MS: Record<Exclude<GroupBy, 'month'>, number> = { hour: 3_600_000, day: DAY_MS, week: 7 * DAY_MS };
// Postgres weeks start on Monday; the epoch's first Monday is 1970-01-05, 4 days in.
const OFFSET_MS: Record<Exclude<GroupBy, 'month'>, number> = { hour: 0, day: 0, week: 4 * DAY_MS };
const monthIndex = (at: Date) => at.getUTCFullYear() * 12 + at.getUTCMonth();

/**
 * Number of UTC buckets the series has: from the one holding `since` to the last one starting
 * before `until`, as `date_trunc` and `generate_series` make them.
 */
export function bucketCount({ groupBy, since, until }: StatsRange): number {
  if (groupBy === 'month') return monthIndex(new Date(until.getTime() - 1)) - monthIndex(since) + 1;
  const size = SIZE_MS[groupBy];
  const first = Math.floor((since.getTime() - OFFSET_MS[groupBy]) / size) * size + OFFSET_MS[groupBy];
  return Math.ceil((until.getTime() - first) / size);
}

/** The default window ending at `until`: 7 days of hours or days, 12 weeks, 12 months. */
function defaultSince(groupBy: GroupBy, until: Date): Date {
  if (groupBy === 'month') {
    const since = new Date(until);
    since.setUTCMonth(since.getUTCMonth() - 12);
    return since;
  }
  return new Date(until.getTime() - (groupBy === 'week' ? 12 * 7 : 7) * DAY_MS);
}

/**
 * Query of `GET /endpoints/:id/stats`, resolved to a range: defaults filled in, `since` before
 * `until`, at most {@link MAX_BUCKETS} buckets (422 naming the field otherwise).
 */
export const endpointStatsQuery = z
  .object({
    group_by: z.enum(GROUP_BY).default('day'),
    since: isoTimestamp().optional(),
    until: isoTimestamp().optional(),
  })
  .strict()
  .transform((q, ctx): StatsRange => {
    const until = q.until ? new Date(q.until) : new Date();
    const since = q.since ? new Date(q.since) : defaultSince(q.group_by, until);
    const range = { groupBy: q.group_by, since, until };
    if (since.getTime() >= until.getTime()) {
      ctx.addIssue({ code: 'custom', path: ['since'], message: `must be before until (${until.toISOString()})` });
      return z.NEVER;
    }
    const buckets = bucketCount(range);
    if (buckets > MAX_BUCKETS) {
      ctx.addIssue({ code: 'custom', path: ['group_by'], message: `${q.group_by} buckets from since to until would be ${buckets}, at most ${MAX_BUCKETS}: narrow the range or group by a longer unit` });
      return z.NEVER;
    }
    return range;
  });
