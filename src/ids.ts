import { decodeTime, monotonicFactory } from 'ulid';

const ulid = monotonicFactory();

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
