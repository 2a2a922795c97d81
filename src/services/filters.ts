import { z } from 'zod';
import type { Filters } from '../domain/endpoint';
import { lookupPath } from '../domain/json-path';

/**
 * Payload filters of an endpoint: every condition must hold for the endpoint to get the event.
 *
 * - `{"order_status": ["confirmed", "shipped"]}`: the field is one of the values (`in`).
 * - `{"min_amount": 100}` / `{"max_amount": 500}`: shorthand for `amount >= 100` / `<= 500`
 *   (number values only; to compare a field really named `min_x`, use the operator form).
 * - `{"currency": "EUR"}`: equality.
 * - `{"customer.tier": {"in": ["gold"]}, "total": {"gte": 10, "lt": 1000}, "coupon": {"exists": false}}`:
 *   operators `eq`, `ne`, `in`, `gt`, `gte`, `lt`, `lte`, `exists`, with dotted paths into the payload.
 *
 * Written here as the zod schema that validates them on save; read by {@link matchesFilters}.
 */
type Scalar = string | number | boolean | null;
const scalar = z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]);
const comparable = z.union([z.number(), z.string().max(64)]);

const operators = z
  .object({
    eq: scalar.optional(),
    ne: scalar.optional(),
    in: z.array(scalar).min(1).max(100).optional(),
    gt: comparable.optional(),
    gte: comparable.optional(),
    lt: comparable.optional(),
    lte: comparable.optional(),
    exists: z.boolean().optional(),
  })
  .strict()
  .refine((o) => Object.keys(o).length > 0, 'needs at least one operator');

const condition = z.union([scalar, z.array(scalar).min(1).max(100), operators]);
const fieldPath = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'a field name or a dotted path');

/** Schema of an endpoint's `filters`; errors name the offending field. */
export const filtersSchema = z.record(fieldPath, condition).refine((f) => Object.keys(f).length <= 32, 'at most 32 conditions');

type Operators = z.infer<typeof operators>;

/** Normalizes shorthand to `[path, operators]` pairs. */
function conditions(filters: Filters): Array<[string, Operators]> {
  return Object.entries(filters).map(([key, value]): [string, Operators] => {
    if (Array.isArray(value)) return [key, { in: value as Scalar[] }];
    if (value !== null && typeof value === 'object') return [key, value as Operators];
    if (typeof value === 'number') {
      const m = /^(min|max)_(.+)$/.exec(key);
      if (m) return [m[2]!, m[1] === 'min' ? { gte: value } : { lte: value }];
    }
    return [key, { eq: value as Scalar }];
  });
}

function compare(value: unknown, bound: number | string): number | null {
  if (typeof value === 'number' && typeof bound === 'number') return value - bound;
  if (typeof value === 'string' && typeof bound === 'string') return value < bound ? -1 : value > bound ? 1 : 0;
  return null;
}

function holds(payload: unknown, path: string, op: Operators): boolean {
  const { found, value } = lookupPath(payload, path);
  if (op.exists !== undefined && op.exists !== found) return false;
  const checks = Object.keys(op).filter((k) => k !== 'exists');
  if (checks.length === 0) return true;
  if (!found) return false;
  if (op.eq !== undefined && value !== op.eq) return false;
  if (op.ne !== undefined && value === op.ne) return false;
  if (op.in !== undefined && !op.in.includes(value as Scalar)) return false;
  const bounds: Array<[number | string | undefined, (c: number) => boolean]> = [
    [op.gt, (c) => c > 0],
    [op.gte, (c) => c >= 0],
    [op.lt, (c) => c < 0],
    [op.lte, (c) => c <= 0],
  ];
  for (const [bound, ok] of bounds) {
    if (bound === undefined) continue;
    const c = compare(value, bound);
    if (c === null || !ok(c)) return false;
  }
  return true;
}

/** True when the payload satisfies every condition (no filters: always true). */
export function matchesFilters(filters: Filters | null | undefined, payload: unknown): boolean {
  if (!filters) return true;
  return conditions(filters).every(([path, op]) => holds(payload, path, op));
}
