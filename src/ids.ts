import { decodeTime, monotonicFactory } from 'ulid';
import { randomFraction } from './random-pool';

/**
 * The ULIDs' random characters come from the pooled CSPRNG block (one fraction per character, as
 * the ulid package asks its PRNG), not from the package's own WebCrypto call per character: an id
 * minted in a new millisecond took 80–120 µs that way on a machine with costly system calls,
 * about 3 µs from the pool.
 */
const ulid = monotonicFactory(randomFraction);

/** Prefixes make ids self-describing in logs and URLs (`ep_…`, `evt_…`). */
export type IdPrefix = 'ep' | 'evt' | 'dlv' | 'key' | 'ak' | 'et' | 'src' | 'tn' | 'pk' | 'ps' | 'rcv';

/** When a time-sortable id was minted (its ULID's time), or null when it is not one. */
export function idTime(id: string): Date | null {
  const ulidPart = id.slice(id.indexOf('_') + 1).toUpperCase();
  try {
    return new Date(decodeTime(ulidPart));
  } catch {
    return null;
  }
}

/** A new time-sortable id such as `evt_01JD3…`. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid().toLowerCase()}`;
}
