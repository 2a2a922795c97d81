import { idTime, newId } from '../../src/ids';

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

  it('when ids are minted a millisecond apart, then their random parts differ (fresh randomness, not only the increment)', async () => {
    const randomParts = new Set<string>();
    for (let i = 0; i < 20; i++) {
      randomParts.add(newId('evt').slice(4 + 10));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(randomParts.size).toBe(20);
  });
});
