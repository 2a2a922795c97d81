import { parseRss } from '../../scripts/bench/procs';

describe('parseRss: a process\'s resident memory from /proc/<pid>/status', () => {
  const status = (lines: string[]) => ['Name:\tnode', 'VmPeak:\t 1234567 kB', ...lines, 'Threads:\t17', ''].join('\n');

  it('reads the whole RSS and the part mapped from files (not anonymous memory, not shared memory)', () => {
    expect(parseRss(status(['VmRSS:\t  349696 kB', 'RssAnon:\t  285184 kB', 'RssFile:\t   63488 kB', 'RssShmem:\t    1024 kB']))).toEqual({ kb: 349696, fileKb: 63488 });
  });

  it('counts no file part on a kernel without the split (before Linux 4.5)', () => {
    expect(parseRss(status(['VmRSS:\t  1024 kB']))).toEqual({ kb: 1024, fileKb: 0 });
  });

  it('is null without VmRSS (a zombie process has none)', () => {
    expect(parseRss(status(['State:\tZ (zombie)']))).toBeNull();
  });
});
