import { randomFillSync } from 'node:crypto';

/**
 * Random bytes from the OS's CSPRNG, drawn a 4 KB block at a time, for the values minted on the
 * delivery path (ids, signature nonces). Each draw through `randomBytes` or WebCrypto makes a
 * system call (OpenSSL's fork check), and on a machine where system calls are costly (page-table
 * isolation) one draw took 4–6 µs: 16 of them per id minted in a new millisecond, one per
 * signature nonce. From the block a draw costs a fraction of a microsecond. Bytes are handed out
 * once each; what is left of a block too short for a draw is skipped.
 */
const POOL = Buffer.alloc(4096);
let drawn = POOL.length;

/** The offset of `n` fresh bytes in the block, refilling it first when fewer are left. */
function take(n: number): number {
  if (drawn + n > POOL.length) {
    randomFillSync(POOL);
    drawn = 0;
  }
  const at = drawn;
  drawn += n;
  return at;
}

/** A uniform fraction in [0, 1) from one random byte (k/256): ×32 then floored, every ULID character is equally likely. */
export function randomFraction(): number {
  return POOL[take(1)]! / 256;
}

/** `bytes` random bytes as hex (at most 256 bytes). */
export function randomHex(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 256) throw new RangeError(`randomHex: 1 to 256 bytes, not ${bytes}`);
  const at = take(bytes);
  return POOL.toString('hex', at, at + bytes);
}
