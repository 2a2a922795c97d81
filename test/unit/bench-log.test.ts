import { benchLogger, noteResumed, pauseLinesLeftOut } from '../../scripts/bench/infra';

/** A dev server's line as the bench logs it (`startServerProcess` passes ERROR lines on at warn). */
const serverLine = (text: string) => `time=2026-12-04T16:39:58.988 level=ERROR msg="${text}" shard-id=1`;
const QUEUE_READ = serverLine('Queue reader unable to retrieve tasks" error="GetHistoryTasks operation failed. Select failed. Error: context deadline exceeded');
/** What a resumed server says for about a second while it takes its shard again. */
const SHARD_LOST = serverLine('Persistent store operation Failure" store-operation=create-wf-execution error="shard status unknown');
const START_FAILED = serverLine('Operation failed with internal error." error="StartWorkflowExecution: database is locked');

function capture(level: string) {
  const lines: string[] = [];
  const log = benchLogger(level, { write: (line: string) => void lines.push(line) });
  return { log, lines: () => lines.map((l) => JSON.parse(l) as { level: number; line: string }) };
}

describe("the bench's log of its dev servers", () => {
  it('when no paused process was resumed, then a deadline error is printed like any other error', () => {
    const { log, lines } = capture('info');
    log.warn({ line: QUEUE_READ }, 'temporal dev server');
    expect(lines()).toEqual([expect.objectContaining({ level: 40, line: QUEUE_READ })]);
    expect(pauseLinesLeftOut()).toBe(0);
  });

  it('when paused processes were just resumed, then the deadline errors they were stopped in are counted and left out, and other errors are still printed', () => {
    const { log, lines } = capture('info');
    noteResumed();
    log.warn({ line: QUEUE_READ }, 'temporal dev server');
    log.warn({ line: SHARD_LOST }, 'temporal dev server');
    log.warn({ line: START_FAILED }, 'temporal dev server');
    expect(lines()).toEqual([expect.objectContaining({ level: 40, line: START_FAILED })]);
    expect(pauseLinesLeftOut()).toBe(2);
  });

  it('when the log is at debug, then a line left out is still there, at debug', () => {
    const { log, lines } = capture('debug');
    noteResumed();
    log.warn({ line: QUEUE_READ }, 'temporal dev server');
    expect(lines()).toEqual([expect.objectContaining({ level: 20, line: QUEUE_READ })]);
  });
});
