import { attemptsAfter, latestAttemptId, type AttemptStreamFilter, type StreamedAttemptRow } from '../db/attempts-repo';
import type { Db } from '../db/knex';
import type { Logger } from '../logger';

/** How often the shared poller reads new attempts while any stream is open. */
export const POLL_INTERVAL_MS = 500;

/** Rows read per query; a full batch is followed by another read at once. */
const POLL_BATCH = 500;

/**
 * How long a missing id holds back the rows after it. An id is drawn from the sequence when the
 * insert runs, not when it commits, so a lower id can become visible after a higher one; moving
 * the cursor past it at once would lose that row for every stream. Ids burnt by ignored duplicates
 * or rollbacks never show up, hence a bound rather than waiting for them.
 */
const GAP_WAIT_MS = 2_000;

/** One open stream: whose rows it wants and where they go. */
export interface AttemptSubscriber {
  filter: AttemptStreamFilter;
  /** Receives each new matching row of the subscriber's tenant, in id order. */
  push(row: StreamedAttemptRow): void;
}

export interface AttemptHubOptions {
  intervalMs: number;
  gapWaitMs: number;
}

/** True when `row` passes every condition of `filter`. */
export function matchesFilter(filter: AttemptStreamFilter, row: StreamedAttemptRow): boolean {
  return (
    (filter.endpointId === undefined || row.endpoint_id === filter.endpointId) &&
    (filter.eventType === undefined || row.event_type === filter.eventType) &&
    (filter.deliveryStatus === undefined || row.delivery_status === filter.deliveryStatus)
  );
}

/**
 * The one poller behind every open attempt stream of a process. While at least one subscriber is
 * open it reads all tenants' new `attempts` rows by increasing id in one query per tick and hands
 * each row to the subscribers of that row's tenant whose filter it passes; so the database sees
 * one query per tick however many streams are open. Plain polling (no LISTEN/NOTIFY) works the
 * same on Postgres and on PGlite. With no subscriber left it stops, and forgets its cursor: the
 * next stream starts at the newest row again.
 */
export class AttemptHub {
  private readonly byTenant = new Map<string, Set<AttemptSubscriber>>();
  private count = 0;
  private cursor: bigint | null = null;
  private ready: Promise<void> | null = null;
  /** Bumped on every start and stop, so a read or start that was in flight cannot act on a later run. */
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private gap: { id: bigint; since: number } | null = null;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly options: AttemptHubOptions = { intervalMs: POLL_INTERVAL_MS, gapWaitMs: GAP_WAIT_MS },
  ) {}

  /** Open subscribers, all tenants together. */
  get subscribers(): number {
    return this.count;
  }

  /**
   * Adds a subscriber for `tenantId`'s attempts from now on and returns its unsubscribe function.
   * Resolves once the poller knows its starting id: every row it hands over afterwards is above
   * that id, and the rows at or below it were visible before, so a replay read after this
   * resolves leaves no hole before the live rows.
   */
  async subscribe(tenantId: string, subscriber: AttemptSubscriber): Promise<() => void> {
    let subscribers = this.byTenant.get(tenantId);
    if (!subscribers) this.byTenant.set(tenantId, (subscribers = new Set()));
    subscribers.add(subscriber);
    this.count++;
    let removed = false;
    const unsubscribe = () => {
      if (removed) return;
      removed = true;
      subscribers.delete(subscriber);
      if (subscribers.size === 0 && this.byTenant.get(tenantId) === subscribers) this.byTenant.delete(tenantId);
      if (--this.count === 0) this.stop();
    };
    this.ready ??= this.start();
    try {
      await this.ready;
    } catch (err) {
      unsubscribe();
      throw err;
    }
    return unsubscribe;
  }

  private start(): Promise<void> {
    const generation = ++this.generation;
    return latestAttemptId(this.db).then(
      (id) => {
        if (generation !== this.generation) return;
        this.cursor = id;
        this.gap = null;
        this.schedule(this.options.intervalMs);
      },
      (err: unknown) => {
        // Let the next subscriber try again instead of inheriting this failure.
        if (generation === this.generation) this.ready = null;
        throw err;
      },
    );
  }

  private stop(): void {
    this.generation++;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.ready = null;
    this.cursor = null;
    this.gap = null;
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.polling || this.count === 0 || this.cursor === null) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, delayMs);
    // Open sockets keep the process alive; the poller alone must not.
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const generation = this.generation;
    const cursor = this.cursor;
    if (cursor === null) return;
    this.polling = true;
    let caughtUp = true;
    try {
      const rows = await attemptsAfter(this.db, cursor, POLL_BATCH);
      if (generation === this.generation) caughtUp = !this.advance(rows) || rows.length < POLL_BATCH;
    } catch (err) {
      this.log.warn({ err }, 'attempt stream: reading new attempts failed; retrying');
    } finally {
      this.polling = false;
      this.schedule(caughtUp ? this.options.intervalMs : 0);
    }
  }

  /**
   * Hands rows over in id order and moves the cursor. At a missing id it stops and leaves the rest
   * for the next tick, until that id has been missing for `gapWaitMs`. False when it stopped there.
   */
  private advance(rows: StreamedAttemptRow[]): boolean {
    for (const row of rows) {
      const id = BigInt(row.id);
      const next = this.cursor! + 1n;
      if (id > next && !this.gapExpired(next)) return false;
      this.gap = null;
      this.cursor = id;
      this.fanOut(row);
    }
    return true;
  }

  private gapExpired(missing: bigint): boolean {
    const now = Date.now();
    if (this.gap?.id !== missing) this.gap = { id: missing, since: now };
    return now - this.gap.since >= this.options.gapWaitMs;
  }

  private fanOut(row: StreamedAttemptRow): void {
    const subscribers = this.byTenant.get(row.tenant_id);
    if (!subscribers) return;
    // A copy: a subscriber may leave while it is being handed a row (a slow client's overflow).
    for (const subscriber of [...subscribers]) {
      if (!matchesFilter(subscriber.filter, row)) continue;
      try {
        subscriber.push(row);
      } catch (err) {
        this.log.error({ err }, 'attempt stream: a subscriber failed');
      }
    }
  }
}

const hubs = new WeakMap<Db, AttemptHub>();

/** The process's hub for `db`, built on first use (so building routes needs no database). */
export function attemptHubFor(db: Db, log: Logger): AttemptHub {
  let hub = hubs.get(db);
  if (!hub) hubs.set(db, (hub = new AttemptHub(db, log)));
  return hub;
}
