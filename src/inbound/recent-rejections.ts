import { LRUCache } from 'lru-cache';
import { RISK_WINDOW_SECONDS } from './risk';

/** Counters are kept per minute; the window is the last RISK_WINDOW_SECONDS of them. */
const BUCKET_MS = 60_000;
const BUCKETS = Math.ceil((RISK_WINDOW_SECONDS * 1000) / BUCKET_MS);
/** Keys (sources and addresses) followed at once; the least recently seen are forgotten first. */
const MAX_KEYS = 50_000;
/** Rejected requests of one source written to telemetry per minute; the rest are only counted. */
export const REJECTED_ROWS_PER_SOURCE_MINUTE = 60;

type Buckets = { minute: number; counts: number[] };

/**
 * What the inbound guard rejected lately, in memory: signature failures and replays by source,
 * rejections by address, for the risk score. Reading it costs no query and writing it no row, so
 * a flood of unauthenticated requests costs memory that is bounded (an LRU of keys), not
 * database work that grows with it. Each API process keeps its own window.
 */
export class RecentRejections {
  private readonly windows = new LRUCache<string, Buckets>({ max: MAX_KEYS });

  constructor(private readonly now: () => number = Date.now) {}

  private minute(): number {
    return Math.floor(this.now() / BUCKET_MS);
  }

  private bump(key: string): number {
    const minute = this.minute();
    const entry = this.windows.get(key) ?? { minute, counts: new Array<number>(BUCKETS).fill(0) };
    this.advance(entry, minute);
    entry.counts[minute % BUCKETS]! += 1;
    this.windows.set(key, entry);
    return entry.counts[minute % BUCKETS]!;
  }

  /** Clears the buckets of the minutes that passed since the entry was last touched. */
  private advance(entry: Buckets, minute: number): void {
    for (let m = entry.minute + 1; m <= minute && m <= entry.minute + BUCKETS; m++) entry.counts[m % BUCKETS] = 0;
    entry.minute = Math.max(entry.minute, minute);
  }

  private count(key: string): number {
    const entry = this.windows.peek(key);
    if (!entry) return 0;
    this.advance(entry, this.minute());
    return entry.counts.reduce((a, b) => a + b, 0);
  }

  /** Notes one answered request: `sourceId` only when the guard resolved the source. */
  note(result: string, sourceId: string | null, remoteAddr: string): void {
    if (result === 'ok') return;
    this.bump(`addr:${remoteAddr}`);
    if (sourceId && (result === 'bad_signature' || result === 'unknown_key')) this.bump(`sig:${sourceId}`);
    if (sourceId && result === 'replayed_nonce') this.bump(`replay:${sourceId}`);
  }

  /** The history the risk score reads, over the last RISK_WINDOW_SECONDS. */
  history(sourceId: string | null, remoteAddr: string): { signatureFailures: number; replays: number; addressFailures: number } {
    return {
      signatureFailures: sourceId ? this.count(`sig:${sourceId}`) : 0,
      replays: sourceId ? this.count(`replay:${sourceId}`) : 0,
      addressFailures: this.count(`addr:${remoteAddr}`),
    };
  }

  /**
   * Whether a rejected request of this source may still be written to telemetry this minute: a
   * flood against one source writes {@link REJECTED_ROWS_PER_SOURCE_MINUTE} rows a minute at most.
   */
  mayRecordRejection(sourceId: string): boolean {
    return this.bump(`rows:${sourceId}`) <= REJECTED_ROWS_PER_SOURCE_MINUTE;
  }
}
