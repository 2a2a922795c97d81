import { RecentRejections, REJECTED_ROWS_PER_SOURCE_MINUTE } from '../../src/inbound/recent-rejections';

describe('RecentRejections', () => {
  it('when rejections age past the 10-minute window, then they no longer count', () => {
    let now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const recent = new RecentRejections(() => now);
    recent.note('bad_signature', 'src_a', '10.0.0.1');
    recent.note('replayed_nonce', 'src_a', '10.0.0.1');
    recent.note('unknown_source', null, '10.0.0.1');
    recent.note('ok', 'src_a', '10.0.0.1');
    expect(recent.history('src_a', '10.0.0.1')).toEqual({ signatureFailures: 1, replays: 1, addressFailures: 3 });
    expect(recent.history('src_b', '10.0.0.2')).toEqual({ signatureFailures: 0, replays: 0, addressFailures: 0 });
    now += 5 * 60_000;
    recent.note('bad_signature', 'src_a', '10.0.0.1');
    expect(recent.history('src_a', '10.0.0.1').signatureFailures).toBe(2);
    now += 6 * 60_000; // the first ones are 11 minutes old
    expect(recent.history('src_a', '10.0.0.1')).toEqual({ signatureFailures: 1, replays: 0, addressFailures: 1 });
    now += 60 * 60_000;
    expect(recent.history('src_a', '10.0.0.1')).toEqual({ signatureFailures: 0, replays: 0, addressFailures: 0 });
  });

  it('when one source is flooded, then only a bounded number of rejections a minute may be written', () => {
    let now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const recent = new RecentRejections(() => now);
    const allowed = Array.from({ length: 200 }, () => recent.mayRecordRejection('src_a')).filter(Boolean).length;
    expect(allowed).toBe(REJECTED_ROWS_PER_SOURCE_MINUTE);
    now += 60_000;
    expect(recent.mayRecordRejection('src_a')).toBe(true);
  });
});
