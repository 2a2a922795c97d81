import { idTime, newId, pooledRandomFraction } from '../../src/ids';

describe('ids', () => {
  it('when ids are minted, then each is the prefix and a lowercase ULID of its time, all distinct and in order', () => {
    const before = Date.now();
    const ids = Array.from({ length: 5_000 }, () => newId('dlv'));
    for (const id of ids.slice(0, 50)) {
      expect(id).toMatch(/^dlv_[0-9a-hjkmnp-tv-z]{26}$/);
      expect(idTime(id)!.getTime()).toBeGreaterThanOrEqual(before);
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('when the random source is drawn past its block, then every draw is a fraction in [0, 1) and every ULID character is reached evenly', () => {
    const counts = new Array<number>(32).fill(0);
    const draws = 64_000; // several blocks of the pool
    for (let i = 0; i < draws; i++) {
      const f = pooledRandomFraction();
      expect(f >= 0 && f < 1).toBe(true);
      counts[Math.floor(f * 32)]! += 1;
    }
    // 2,000 expected per character; a fair source stays well within ±20 %.
    for (const c of counts) expect(Math.abs(c - draws / 32)).toBeLessThan(400);
  });

  it('when ids are minted a millisecond apart, then their random parts differ (fresh randomness, not only the increment)', async () => {
    const randomParts = new Set<string>();
    for (let i = 0; i < 20; i++) {
      randomParts.add(newId('evt').slice(4 + 10));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(randomParts.size).toBe(20);
  });
});
