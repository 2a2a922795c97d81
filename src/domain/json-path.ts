/**
 * The value at a dotted path (`customer.tier`) in a JSON value, and whether it is there at all:
 * false when a segment is missing. Only own properties are followed, never the prototype chain.
 * Filters and templates both address payload fields this way.
 */
export function lookupPath(payload: unknown, path: string): { found: boolean; value: unknown } {
  let current: unknown = payload;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.prototype.hasOwnProperty.call(current, part)) {
      return { found: false, value: undefined };
    }
    current = (current as Record<string, unknown>)[part];
  }
  return { found: true, value: current };
}
