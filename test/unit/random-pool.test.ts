import { randomFraction, randomHex } from '../../src/random-pool';
import { newNonce } from '../../src/security/signing';

describe('random pool', () => {
  it('when the random source is drawn past its block, then every draw is a fraction in [0, 1) and every ULID character is reached evenly', () => {
    const counts = new Array<number>(32).fill(0);
    const draws = 64_000; // several blocks of the pool
    for (let i = 0; i < draws; i++) {
      const f = randomFraction();
      expect(f >= 0 && f < 1).toBe(true);
      counts[Math.floor(f * 32)]! += 1;
    }
    // 2,000 expected per character; a fair source stays well within ±20 %.
    for (const c of counts) expect(Math.abs(c - draws / 32)).toBeLessThan(400);
  });

  it('when hex strings are drawn past the end of a block, then each has its length, and none repeats', () => {
    const drawn = Array.from({ length: 1_000 }, () => randomHex(16)); // 16,000 bytes: about four blocks
    for (const hex of drawn) expect(hex).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(drawn).size).toBe(drawn.length);
    expect(randomHex(256)).toMatch(/^[0-9a-f]{512}$/);
  });

  it('when the bytes of hex draws are counted, then every byte value comes up about equally often', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 4_000; i++) for (const byte of Buffer.from(randomHex(64), 'hex')) counts[byte]! += 1;
    // 1,000 expected per value; a fair source stays well within ±25 %.
    for (const c of counts) expect(Math.abs(c - 1_000)).toBeLessThan(250);
  });

  it('when a size outside 1 to 256 bytes is asked for, then it is refused', () => {
    for (const bytes of [0, -1, 1.5, 257]) expect(() => randomHex(bytes)).toThrow(RangeError);
  });

  it('when signature nonces are made, then each is 16 fresh bytes as hex', () => {
    const nonces = Array.from({ length: 500 }, () => newNonce());
    for (const nonce of nonces) expect(nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(nonces).size).toBe(nonces.length);
  });
});
