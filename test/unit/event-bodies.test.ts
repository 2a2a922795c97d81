import { BODY_IDLE_MS, cachedEventBody, rememberEventBody } from '../../activities/event-bodies';

/** The worker's cache of event bodies: kept while in use, let go when idle or over its size. */
describe('event bodies held by a worker', () => {
  it('answers a remembered body, and keeps it as long as deliveries keep asking for it', () => {
    const t0 = 1_000_000;
    rememberEventBody('ten_a', 'evt_1', '{"id":"evt_1"}', t0);
    expect(cachedEventBody('ten_a', 'evt_1', t0 + 1)).toBe('{"id":"evt_1"}');
    // Each use starts its idle time again: a fan-out that keeps reading it keeps it.
    expect(cachedEventBody('ten_a', 'evt_1', t0 + BODY_IDLE_MS - 1)).toBe('{"id":"evt_1"}');
    expect(cachedEventBody('ten_a', 'evt_1', t0 + 2 * BODY_IDLE_MS - 2)).toBe('{"id":"evt_1"}');
    expect(cachedEventBody('ten_b', 'evt_1', t0 + 2 * BODY_IDLE_MS - 2)).toBeUndefined();
  });

  it('lets a body go once no delivery asked for it for BODY_IDLE_MS, with those left before it', () => {
    const t0 = 10_000_000;
    rememberEventBody('ten_a', 'evt_2', 'two', t0);
    rememberEventBody('ten_a', 'evt_3', 'three', t0 + 10);
    expect(cachedEventBody('ten_a', 'evt_2', t0 + BODY_IDLE_MS)).toBeUndefined();
    expect(cachedEventBody('ten_a', 'evt_3', t0 + BODY_IDLE_MS)).toBe('three');
    // Dropped, not merely hidden: remembered again, it is the new body that is answered.
    rememberEventBody('ten_a', 'evt_2', 'two again', t0 + BODY_IDLE_MS + 1);
    expect(cachedEventBody('ten_a', 'evt_2', t0 + BODY_IDLE_MS + 2)).toBe('two again');
  });

  it('holds at most 32 MB of bodies, dropping the least recently used first', () => {
    const t0 = 20_000_000;
    const largest = 'x'.repeat(512 * 1024);
    for (let i = 0; i < 64; i++) rememberEventBody('ten_big', `evt_${i}`, largest, t0 + i);
    // The first is used again, so the second is now the least recently used.
    expect(cachedEventBody('ten_big', 'evt_0', t0 + 100)).toBe(largest);
    rememberEventBody('ten_big', 'evt_64', largest, t0 + 101);
    expect(cachedEventBody('ten_big', 'evt_1', t0 + 102)).toBeUndefined();
    expect(cachedEventBody('ten_big', 'evt_0', t0 + 103)).toBe(largest);
    expect(cachedEventBody('ten_big', 'evt_2', t0 + 104)).toBe(largest);
    expect(cachedEventBody('ten_big', 'evt_64', t0 + 105)).toBe(largest);
  });

  it('does not keep a body larger than a 64th of the cache', () => {
    rememberEventBody('ten_a', 'evt_huge', 'y'.repeat(512 * 1024 + 1), 30_000_000);
    expect(cachedEventBody('ten_a', 'evt_huge', 30_000_001)).toBeUndefined();
  });
});
