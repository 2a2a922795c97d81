import { loadAttemptContext, type AttemptContext } from '../src/db/attempt-context-repo';
import type { Db } from '../src/db/knex';
import { cachedEventBody, rememberEventBody } from './event-bodies';

/** A prefetched context older than this is not used: the attempt reads its own. */
export const PREFETCH_MAX_AGE_MS = 1_000;
/** At most this many contexts wait to be taken; past it, starts are not prefetched. */
export const PREFETCH_MAX_ENTRIES = 4_096;

/** What a prefetch read: the attempt's context, and the event's body (from this worker's cache, or read with the context). */
export interface PrefetchedContext {
  context: AttemptContext | null;
  body: string | null;
}

/** What became of a prefetched context: taken by its attempt, too old or unusable when taken, failed to read, or never taken. */
export type PrefetchOutcome = 'used' | 'stale' | 'failed' | 'unused';

interface Entry {
  at: number;
  read: Promise<PrefetchedContext | undefined>;
}

const keyOf = (deliveryId: string, attempt: number) => `${deliveryId}#${attempt}`;

/**
 * First attempts' contexts, read while their deliveries start. A delivery started eagerly on this
 * worker runs its first attempt here a few milliseconds after the start's answer; reading the
 * attempt's context (the endpoint, its sealed keys, the body) at the same time as the start, not
 * after it, takes that database round trip off the way from ingest to the receiver.
 *
 * A context is taken once, by the attempt it was read for, and only while it is younger than
 * {@link PREFETCH_MAX_AGE_MS}, its read succeeded, and its endpoint's circuit was closed (a
 * circuit's wait is counted from the read). Otherwise the attempt reads its own, as it always
 * did. An attempt run again (the step retried, or its workflow task) finds nothing to take and
 * reads afresh, so it still sees an attempt an earlier run stored. Nothing here is opened: the
 * keys stay sealed, as the statement reads them.
 */
export class AttemptPrefetch {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly db: Db,
    private readonly onOutcome: (outcome: PrefetchOutcome) => void = () => {},
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Contexts read and not yet taken. */
  get size(): number {
    return this.entries.size;
  }

  /** Starts reading the first attempt's context of a delivery about to be started on this worker. */
  prefetch(delivery: { tenantId: string; eventId: string; endpointId: string; deliveryId: string; firstAttempt?: number }): void {
    this.dropOld();
    const key = keyOf(delivery.deliveryId, delivery.firstAttempt ?? 1);
    if (this.entries.size >= PREFETCH_MAX_ENTRIES || this.entries.has(key)) return;
    const held = cachedEventBody(delivery.tenantId, delivery.eventId);
    const read = loadAttemptContext(
      this.db,
      delivery.tenantId,
      delivery.endpointId,
      { id: delivery.eventId, withBody: held === undefined },
      { deliveryId: delivery.deliveryId, attempt: delivery.firstAttempt ?? 1 },
    ).then(
      (context): PrefetchedContext => {
        if (held === undefined && context?.body) rememberEventBody(delivery.tenantId, delivery.eventId, context.body);
        return { context, body: held ?? context?.body ?? null };
      },
      () => undefined,
    );
    this.entries.set(key, { at: this.now(), read });
  }

  /**
   * The context read for this attempt while its delivery started, once; undefined when there is
   * none to use (then the attempt reads its own).
   */
  async take(deliveryId: string, attempt: number): Promise<PrefetchedContext | undefined> {
    const key = keyOf(deliveryId, attempt);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (this.now() - entry.at > PREFETCH_MAX_AGE_MS) {
      this.onOutcome('stale');
      return undefined;
    }
    const read = await entry.read;
    if (!read) {
      this.onOutcome('failed');
      return undefined;
    }
    if (read.context && read.context.endpoint.circuitState !== 'closed') {
      this.onOutcome('stale');
      return undefined;
    }
    this.onOutcome('used');
    return read;
  }

  /** Forgets contexts too old to be used (the map keeps them in the order they were read). */
  private dropOld(): void {
    const oldest = this.now() - PREFETCH_MAX_AGE_MS;
    for (const [key, entry] of this.entries) {
      if (entry.at >= oldest) break;
      this.entries.delete(key);
      this.onOutcome('unused');
    }
  }
}
