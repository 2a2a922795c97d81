/** The event every delivery run sends. */

export const BENCH_EVENT_TYPE = 'bench.event';

/** The retry settings of every bench endpoint: short delays, a short HTTP timeout. */
export const BENCH_RETRY_CONFIG = { max_retries: 3, retry_delay: 250, backoff_multiplier: 2, jitter: 0, timeout_ms: 2_000 };

/** The payload of bench event `index`; bodies come out at about 590 bytes. */
export function benchPayload(index: number): Record<string, unknown> {
  return {
    index,
    order: { id: `ord_${String(index).padStart(8, '0')}`, amount_cents: 129_900, currency: 'EUR', status: 'paid' },
    customer: { id: 'cus_01hbenchbenchbenchbench00', email: 'bench@example.com', country: 'DE' },
    items: [
      { sku: 'SKU-0001', quantity: 2, unit_price_cents: 49_950 },
      { sku: 'SKU-0002', quantity: 1, unit_price_cents: 30_000 },
    ],
    note: 'x'.repeat(160),
  };
}
