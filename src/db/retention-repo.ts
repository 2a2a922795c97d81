import { DEFAULT_RETENTION_DAYS } from '../domain/tenant';
import type { Db } from './knex';

/**
 * Retention: a tenant's deliveries (with their attempts) and events older than its
 * `retention_days` are deleted in bounded batches. A delivery still at work is kept: one with an
 * attempt since the cutoff (a long retry schedule, a recent redelivery) or a FIFO line's blocked
 * head. An event goes once none of its deliveries is left.
 */

/** Whose data a batch purges, and before when: each tenant's own retention, or one cutoff for all. */
export interface PurgeScope {
  /** Only this tenant's data; every tenant's when absent. */
  tenantId?: string;
  /** Everything created before this time; without it, each tenant's `retention_days` decides. */
  before?: Date;
}

export interface PurgedCounts {
  deliveries: number;
  attempts: number;
  events: number;
  recoveries: number;
}

/** The tenants in scope with their cutoff, as SQL and its bindings. */
function cutoffs(scope: PurgeScope): { sql: string; bindings: Array<string | number> } {
  const cutoff = scope.before ? '?::timestamptz' : `now() - make_interval(days => coalesce((settings->>'retention_days')::int, ?))`;
  return {
    sql: `select id, ${cutoff} as cutoff from tenants where status <> 'deleting'${scope.tenantId ? ' and id = ?' : ''}`,
    bindings: [scope.before ? scope.before.toISOString() : DEFAULT_RETENTION_DAYS, ...(scope.tenantId ? [scope.tenantId] : [])],
  };
}

/**
 * Notes, for each tenant in scope, that what was created before its cutoff is being purged (a
 * delivery or event id older than that which is not found answers 410, not 404). The scheduled
 * pass moves the mark at most once a day per tenant (the current retention covers the rest: see
 * {@link purgedSpan}), so it writes no row on most runs.
 */
export async function markPurgeHorizon(db: Db, scope: PurgeScope): Promise<void> {
  const t = cutoffs(scope);
  await db.raw(
    `update tenants set purged_before = t.cutoff
       from (${t.sql}) t
      where tenants.id = t.id
        and (tenants.purged_before is null or tenants.purged_before < t.cutoff - interval '${scope.before ? '0 seconds' : '1 day'}')`,
    t.bindings,
  );
}

/** Deletes one batch (at most `limit` deliveries with their attempts, `limit` events, `limit` ended recoveries). */
export async function purgeBatch(db: Db, scope: PurgeScope, limit: number): Promise<PurgedCounts> {
  const t = cutoffs(scope);
  return db.transaction(async (trx) => {
    const doomed = await trx.raw(
      `select d.id from (${t.sql}) t
         join deliveries d on d.tenant_id = t.id and d.created_at < t.cutoff
        where not exists (select 1 from attempts a where a.delivery_id = d.id and a.started_at >= t.cutoff)
          and not exists (select 1 from endpoints e where e.fifo_blocked_delivery_id = d.id)
        limit ?
        for update of d skip locked`,
      [...t.bindings, limit],
    );
    const ids = (doomed.rows as Array<{ id: string }>).map((r) => r.id);
    const attempts = ids.length === 0 ? 0 : await trx('attempts').whereIn('delivery_id', ids).delete();
    const deliveries = ids.length === 0 ? 0 : await trx('deliveries').whereIn('id', ids).delete();
    const events = await trx.raw(
      `delete from events where id in (
         select e.id from (${t.sql}) t
           join events e on e.tenant_id = t.id and e.created_at < t.cutoff
          where not exists (select 1 from deliveries d where d.event_id = e.id)
          limit ?)`,
      [...t.bindings, limit],
    );
    const recoveries = await trx.raw(
      `delete from recoveries where id in (
         select r.id from (${t.sql}) t
           join recoveries r on r.tenant_id = t.id and r.created_at < t.cutoff and r.state <> 'running'
          limit ?)`,
      [...t.bindings, limit],
    );
    return { deliveries, attempts, events: Number(events.rowCount ?? 0), recoveries: Number(recoveries.rowCount ?? 0) };
  });
}

/** Adds one batch's counts to a running total. */
export function addCounts(a: PurgedCounts, b: PurgedCounts): PurgedCounts {
  return { deliveries: a.deliveries + b.deliveries, attempts: a.attempts + b.attempts, events: a.events + b.events, recoveries: a.recoveries + b.recoveries };
}

/** True when a batch found as much as it may take: there may be more. */
export function batchWasFull(c: PurgedCounts, limit: number): boolean {
  return c.deliveries >= limit || c.events >= limit || c.recoveries >= limit;
}

/**
 * The span of time whose data the tenant may have had purged: from its creation (nothing of it
 * is older) to the later of the mark purges leave and its current retention cutoff. Null when
 * the tenant does not exist.
 */
export async function purgedSpan(db: Db, tenantId: string): Promise<{ from: Date; before: Date } | null> {
  const row = await db('tenants')
    .where({ id: tenantId })
    .first(
      'created_at',
      db.raw(
        `greatest(purged_before, now() - make_interval(days => coalesce((settings->>'retention_days')::int, ?))) as horizon`,
        [DEFAULT_RETENTION_DAYS],
      ),
    );
  return row ? { from: row.created_at as Date, before: row.horizon as Date } : null;
}
