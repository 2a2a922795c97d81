import type { Db } from './knex';

/**
 * An endpoint's send slots under its `rate_limit`: one Postgres row per endpoint
 * (`rate_next_slot_at`, the next free slot, and `rate_released_slots`) shared by every worker.
 */

/**
 * How far ahead a send slot may be reserved. Beyond it a delivery waits without a reservation and
 * asks again, so the cursor never runs further ahead than this, whatever was left behind
 * (deliveries stopped while holding slots, a signing step retried after reserving).
 */
export const RATE_SLOT_MAX_AHEAD_MS = 10 * 60 * 1000;

/** A send slot under an endpoint's rate limit. */
export interface SendSlot {
  /** How long until the slot, ms (0: now). */
  waitMs: number;
  /** False: the backlog is longer than {@link RATE_SLOT_MAX_AHEAD_MS}; nothing was reserved, ask again after `waitMs`. */
  reserved: boolean;
  /** The slot's time, epoch microseconds (what {@link releaseSendSlot} gives back). */
  slotMicros: number;
}

/**
 * Reserves the endpoint's next send slot under its `rate_limit` (slots 1/limit s apart, shared
 * by every worker) and answers how long to wait for it. A slot further ahead than `maxAheadMs` is
 * not reserved. Null when the endpoint has no limit, or is inactive or deleted (its attempt is
 * refused when sent): nothing is reserved then.
 */
export async function reserveSendSlot(db: Db, tenantId: string, id: string, maxAheadMs = RATE_SLOT_MAX_AHEAD_MS): Promise<SendSlot | null> {
  const result = await db.raw(
    `with cur as (
       select id, rate_limit,
              -- A cursor left further ahead than the cap allows (older versions, bugs) is pulled back.
              greatest(least(coalesce(rate_next_slot_at, now()), now() + make_interval(secs => ? / 1000.0) + make_interval(secs => 1.0 / rate_limit)), now()) as slot
         from endpoints
        where tenant_id = ? and id = ? and rate_limit is not null and is_active and deleted_at is null
        for update
     )
     update endpoints e
        set rate_next_slot_at = case when cur.slot <= now() + make_interval(secs => ? / 1000.0)
                                     then cur.slot + make_interval(secs => 1.0 / cur.rate_limit) else cur.slot end
       from cur
      where e.id = cur.id and e.tenant_id = ?
      returning extract(epoch from (cur.slot - now())) * 1000 as wait_ms,
                cur.slot <= now() + make_interval(secs => ? / 1000.0) as reserved,
                (extract(epoch from cur.slot) * 1000000)::bigint as slot_us`,
    [maxAheadMs, tenantId, id, maxAheadMs, tenantId, maxAheadMs],
  );
  const row = result.rows[0] as { wait_ms: string | number; reserved: boolean; slot_us: string | number } | undefined;
  if (!row) return null;
  return { waitMs: Math.max(0, Math.ceil(Number(row.wait_ms))), reserved: row.reserved, slotMicros: Number(row.slot_us) };
}

/** Slot times within this many microseconds are the same slot (intervals are rounded to µs). */
const SLOT_TOLERANCE_US = 2;

/**
 * Gives back a reserved slot that will not be used (its delivery was cancelled while waiting).
 * The cursor moves back over it when it is the last one reserved, and over any released slots
 * just before it; a slot with later reservations behind it is remembered until they are released
 * too (never handed out twice, so the limit holds). True when the cursor moved.
 */
export async function releaseSendSlot(db: Db, tenantId: string, id: string, slotMicros: number): Promise<boolean> {
  return db.transaction(async (trx) => {
    const row = await trx('endpoints')
      .where({ tenant_id: tenantId, id })
      .whereNotNull('rate_limit')
      .whereNotNull('rate_next_slot_at')
      .first(
        'rate_limit',
        'rate_released_slots',
        trx.raw('(extract(epoch from rate_next_slot_at) * 1000000)::bigint as cursor_us'),
        trx.raw('(extract(epoch from now()) * 1000000)::bigint as now_us'),
      )
      .forUpdate();
    if (!row) return false;
    const intervalUs = 1_000_000 / Number(row.rate_limit);
    const start = Number(row.cursor_us);
    let cursor = start;
    let released = [...((row.rate_released_slots as Array<string | number> | null) ?? []).map(Number), slotMicros];
    for (;;) {
      const last = released.find((s) => Math.abs(s + intervalUs - cursor) <= SLOT_TOLERANCE_US);
      if (last === undefined) break;
      cursor = last;
      released = released.filter((s) => s !== last);
    }
    // Slots already past, or beyond the cursor, can never be rewound over: forget them.
    released = released.filter((s) => s + intervalUs > Number(row.now_us) && s < cursor);
    await trx('endpoints')
      .where({ tenant_id: tenantId, id })
      .update({
        rate_next_slot_at: trx.raw('to_timestamp(?::double precision / 1000000)', [cursor]),
        rate_released_slots: released.length > 0 ? trx.raw('?::bigint[]', [`{${released.map((s) => Math.round(s)).join(',')}}`]) : null,
      });
    return cursor !== start;
  });
}
