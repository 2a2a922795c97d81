import type { ActivityDeps } from './deps';

/** Longest window a source can have (tolerance_seconds max): nonces of deleted sources use it. */
const MAX_TOLERANCE_SECONDS = 3600;

export interface PurgeOut {
  nonces: number;
  rateWindows: number;
  telemetry: number;
}

/**
 * Deletes what is no longer needed: anti-replay nonces older than twice their source's window (a
 * replay that old already fails the timestamp check), spent rate windows, and telemetry past its
 * retention. Idempotent: a retry deletes what is left.
 */
export function makePurgeExpired({ db, log, config }: ActivityDeps) {
  return async function purgeExpired(): Promise<PurgeOut> {
    const nonces = await db.raw(
      `delete from inbound_nonces n
        using (select n2.source_id, n2.nonce from inbound_nonces n2
               left join inbound_sources s on s.id = n2.source_id
               where n2.created_at < now() - make_interval(secs => 2 * coalesce(s.tolerance_seconds, ?))) old
        where n.source_id = old.source_id and n.nonce = old.nonce`,
      [MAX_TOLERANCE_SECONDS],
    );
    const rateWindows = await db('inbound_rate_windows').where('window_start', '<', db.raw("now() - interval '1 hour'")).delete();
    const telemetry = await db('telemetry_events')
      .where('created_at', '<', db.raw('now() - make_interval(days => ?)', [config.TELEMETRY_RETENTION_DAYS]))
      .delete();
    const out = { nonces: Number(nonces.rowCount ?? 0), rateWindows, telemetry };
    log.info(out, 'housekeeping purge');
    return out;
  };
}
