import { bucketQuantile, countsUsed, ingestPartQuantiles, serviceCounts, sumHistograms } from '../../scripts/bench/prom';

/** A scrape holding one ingest-part histogram, `store`, with these cumulative counts. */
function scrapeWith(counts: Record<string, number>): string {
  const lines = Object.entries(counts).map(([le, n]) => `webhooks_ingest_part_duration_seconds_bucket{le="${le}",part="store"} ${n}`);
  return ['# TYPE webhooks_ingest_part_duration_seconds histogram', ...lines, 'webhooks_events_ingested_total{result="created"} 3', ''].join('\n');
}

describe('bench: ingest parts from the service histogram', () => {
  it('when a quantile falls inside a bucket, then it is interpolated between its bounds, as histogram_quantile does', () => {
    // 100 observations: 10 at most 1 ms, 90 more at most 10 ms, none above.
    const buckets = { '0.001': 10, '0.01': 100, '+Inf': 100 };
    expect(bucketQuantile(buckets, 0.05)).toBeCloseTo(0.0005, 9); // the first bucket starts at 0
    expect(bucketQuantile(buckets, 0.5)).toBeCloseTo(0.001 + (0.009 * 40) / 90, 9);
    expect(bucketQuantile(buckets, 0.99)).toBeCloseTo(0.001 + (0.009 * 89) / 90, 9);
    expect(bucketQuantile({ '0.001': 0, '+Inf': 0 }, 0.5)).toBeNull();
  });

  it('when the quantile is past the highest finite bound, then the highest finite bound is said', () => {
    expect(bucketQuantile({ '0.1': 90, '+Inf': 100 }, 0.99)).toBe(0.1);
  });

  it('when two scrapes are read, then their difference keeps every bound (empty buckets too) and gives the phase its quantiles in ms', () => {
    const before = serviceCounts(scrapeWith({ '0.001': 5, '0.002': 5, '0.005': 5, '+Inf': 5 }));
    const after = serviceCounts(scrapeWith({ '0.001': 5, '0.002': 5, '0.005': 105, '+Inf': 105 }));
    const used = countsUsed(before, after);
    expect(used.ingestParts.store).toEqual({ '0.001': 0, '0.002': 0, '0.005': 100, '+Inf': 100 });
    // All 100 between 2 and 5 ms: the bound below is 2 ms, not 0.
    expect(ingestPartQuantiles(used.ingestParts.store)).toEqual({ p50: 3.5, p99: 5, count: 100 });
    expect(ingestPartQuantiles(undefined)).toBeNull();
  });

  it("when rounds (or an API's and a worker's histograms) are pooled, then their buckets add up bound by bound", () => {
    const pooled = sumHistograms({ store: { '0.01': 1, '+Inf': 2 } }, { store: { '0.01': 3, '+Inf': 3 }, starts: { '+Inf': 1 } });
    expect(pooled).toEqual({ store: { '0.01': 4, '+Inf': 5 }, starts: { '+Inf': 1 } });
  });
});
