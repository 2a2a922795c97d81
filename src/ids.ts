import { monotonicFactory } from 'ulid';

const ulid = monotonicFactory();

/** Prefixes make ids self-describing in logs and URLs (`ep_…`, `evt_…`). */
export type IdPrefix = 'ep' | 'evt' | 'dlv' | 'key' | 'ak' | 'et' | 'src' | 'tn' | 'pk' | 'ps';

/** A new time-sortable id such as `evt_01JD3…`. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid().toLowerCase()}`;
}
