import { randomFillSync } from 'node:crypto';
import { decodeTime, monotonicFactory } from 'ulid';

/** Random bytes drawn from the OS's CSPRNG a block at a time (one call per 256 ids). */
const POOL = new Uint8Array(4096);
let drawn = POOL.length;

/**
 * The ULIDs' random source: a uniform fraction in [0, 1) per character, as the ulid package asks
 * its PRNG, from one random byte each (×32 then floored: every character equally likely). The
 * package's own source makes a WebCrypto call per character, 16 per id minted in a new
 * millisecond (ids minted in the same millisecond only increment the last one); each such call
 * costs a system call in OpenSSL's fork check, and on a machine with costly system calls
 * (page-table isolation) an id took 80–120 µs, against about 3 µs from this pool.
 */
export function pooledRandomFraction(): number {
  if (drawn === POOL.length) {
    randomFillSync(POOL);
    drawn = 0;
  }
  return POOL[drawn++]! / 256;
}

const ulid = monotonicFactory(pooledRandomFraction);

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
