import { execFileSync } from 'node:child_process';

/**
 * WORKER_HEAP_GROWING_PERCENT: a worker process sets V8's heap growing factor at startup. Each
 * case runs in a process of its own (the flag is process-wide), keeping about 60 MB live while
 * it allocates: V8's own heuristics let the heap grow to about 250 MB, 20 % keeps it near 125.
 */
const peakHeapMb = (percent: number) =>
  Number(execFileSync(process.execPath, ['--import', 'tsx', 'test/fixtures/heap-growth/grow.ts', String(percent)], { encoding: 'utf8', timeout: 60_000 }));

describe('WORKER_HEAP_GROWING_PERCENT', () => {
  it('then a heap grows far less past its live size than with V8 left to itself', () => {
    const own = peakHeapMb(0);
    const slower = peakHeapMb(20);
    expect(slower).toBeGreaterThan(0);
    expect(slower).toBeLessThan(own * 0.75);
  }, 90_000);
});
