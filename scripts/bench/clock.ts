/**
 * The one clock of the bench: epoch milliseconds with sub-millisecond resolution. Every process
 * of a run (the bench, its receiver, the floor process) reads the same system clock through it,
 * so a time taken in one process can be subtracted from a time taken in another.
 */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
