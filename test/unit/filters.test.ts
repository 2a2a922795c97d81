import { filtersSchema, matchesFilters } from '../../src/services/filters';

const order = { order_status: 'shipped', amount: 150, currency: 'EUR', customer: { tier: 'gold', country: 'FR' } };

describe('matchesFilters', () => {
  it("when the README's filter example is used as written, then it works", () => {
    const filters = { order_status: ['confirmed', 'shipped'], min_amount: 100 };
    expect(matchesFilters(filters, order)).toBe(true);
    expect(matchesFilters(filters, { ...order, amount: 99 })).toBe(false);
    expect(matchesFilters(filters, { ...order, order_status: 'cancelled' })).toBe(false);
  });

  it('when operators and dotted paths are used, then each one is applied', () => {
    expect(matchesFilters({ 'customer.tier': { in: ['gold', 'platinum'] } }, order)).toBe(true);
    expect(matchesFilters({ amount: { gte: 100, lt: 200 } }, order)).toBe(true);
    expect(matchesFilters({ amount: { gt: 150 } }, order)).toBe(false);
    expect(matchesFilters({ currency: 'EUR', max_amount: 150 }, order)).toBe(true);
    expect(matchesFilters({ coupon: { exists: false } }, order)).toBe(true);
    expect(matchesFilters({ 'customer.country': { exists: true, ne: 'DE' } }, order)).toBe(true);
    expect(matchesFilters({ 'customer.missing.deep': { eq: 1 } }, order)).toBe(false);
    expect(matchesFilters({ currency: { gte: 5 } }, order)).toBe(false);
  });

  it('when there are no filters, then everything matches', () => {
    expect(matchesFilters(null, order)).toBe(true);
    expect(matchesFilters({}, order)).toBe(true);
  });
});

describe('filtersSchema', () => {
  it.each([
    [{ amount: { between: [1, 2] } }, 'amount'],
    [{ amount: {} }, 'amount'],
    [{ 'bad path!': 1 }, 'bad path!'],
    [{ status: [] }, 'status'],
  ])('when a filter is invalid (%j), then the error names the field', (filters, field) => {
    const parsed = filtersSchema.safeParse(filters);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.some((i) => i.path.map(String).includes(field))).toBe(true);
  });
});
