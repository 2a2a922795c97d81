import { heapSizing, reportHeapSizing, type HeapSizing } from '../../src/bootstrap';
import { createLogger } from '../../src/logger';

const MB = 2 ** 20;
const HOST = 24 * 1024 * MB;

/** The lines a logger at info writes while `report` runs, parsed. */
function logged(sizing: HeapSizing): Array<{ level: number; msg: string; memoryLimitMb?: number }> {
  const lines: string[] = [];
  reportHeapSizing(createLogger('info', 'test', { write: (line: string) => void lines.push(line) }), sizing);
  return lines.map((line) => JSON.parse(line));
}

describe("how V8 sized the heaps (logged at each process's start; test/integration/heap-sizing-log.test.ts runs the processes)", () => {
  it('when the process has no memory limit below the machine, then none is reported', () => {
    // cgroup v1 without a limit reports 2^64; no cgroup at all reports 0.
    for (const constrainedBytes of [2 ** 64, 0, HOST]) {
      expect(heapSizing({ constrainedBytes, totalBytes: HOST, heapLimitBytes: 4144 * MB, execArgv: [] })).toEqual({ memoryLimitMb: null, heapLimitMb: 4144, sizedByHand: false });
    }
  });

  it('when a container limits it to 512 MB, then the limit and the heap limit V8 chose are reported', () => {
    expect(heapSizing({ constrainedBytes: 512 * MB, totalBytes: HOST, heapLimitBytes: 259 * MB, execArgv: [] })).toEqual({ memoryLimitMb: 512, heapLimitMb: 259, sizedByHand: false });
  });

  it('when an option on the command line or in NODE_OPTIONS sizes a heap, then it counts as sized by hand', () => {
    const byHand = (execArgv: string[], nodeOptions?: string) =>
      heapSizing({ constrainedBytes: 512 * MB, totalBytes: HOST, heapLimitBytes: 259 * MB, execArgv, nodeOptions }).sizedByHand;
    expect(byHand([], '--max-semi-space-size=16')).toBe(true);
    expect(byHand([], '--enable-source-maps --max-old-space-size=192')).toBe(true);
    expect(byHand(['--max_semi_space_size=8'])).toBe(true);
    expect(byHand(['--optimize-for-size'])).toBe(true);
    expect(byHand(['--cpu-prof'], '--enable-source-maps')).toBe(false);
  });

  it('when a limit under 1 GB shrank the young generation unasked, then a warning names the setting that restores it', () => {
    const lines = logged({ memoryLimitMb: 512, heapLimitMb: 259, sizedByHand: false });
    expect(lines.map((line) => line.level)).toEqual([30, 40]);
    expect(lines[1]).toMatchObject({ memoryLimitMb: 512 });
    expect(lines[1].msg).toContain('--max-semi-space-size=16');
  });

  it('when the limit is 1 GB or more, absent, or the heaps were sized by hand, then there is no warning', () => {
    for (const sizing of [
      { memoryLimitMb: 1024, heapLimitMb: 524, sizedByHand: false },
      { memoryLimitMb: null, heapLimitMb: 4144, sizedByHand: false },
      { memoryLimitMb: 512, heapLimitMb: 304, sizedByHand: true },
    ]) {
      expect(logged(sizing).map((line) => line.level)).toEqual([30]);
    }
  });
});
