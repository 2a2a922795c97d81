import { readFileSync } from 'node:fs';
import { createLogger } from '../../src/logger';
import { startServerProcess, withTimerSlack } from '../../src/dev/server-process';

const log = createLogger('silent', 'server-process-test');

describe('when a server process is started with a timer slack', () => {
  it('then the command it runs, and what that starts in turn, has that slack under the same process id', async () => {
    const server = startServerProcess('/bin/sh', ['-c', 'cat /proc/self/timerslack_ns; echo "pid $$"'], log, 'probe', { timerSlackNs: 2_500_000 });
    await server.exited;
    expect(server.exitInfo()).toEqual({ code: 0, signal: null });
    const output = server.output.toString();
    // `cat` inherited it from the shell the command became.
    expect(output).toContain('2500000');
    expect(output).toContain(`pid ${server.pid}`);
  });

  it('then a command that cannot be run still fails to spawn, with the error naming it', async () => {
    const server = startServerProcess('/nonexistent/temporal', ['server'], log, 'missing', { timerSlackNs: 1_000_000 });
    const err = await server.spawnFailed;
    expect(err.message).toMatch(/ENOENT/);
    await server.exited;
  });
});

describe('when no timer slack is asked for', () => {
  it('then the command line is left as it is', () => {
    expect(withTimerSlack('/bin/true', ['a'], undefined)).toEqual({ command: '/bin/true', args: ['a'] });
  });

  it('then a process started without it has this process\'s (the kernel default, 50 µs, unless set)', async () => {
    const server = startServerProcess('/bin/cat', ['/proc/self/timerslack_ns'], log, 'probe');
    await server.exited;
    expect(server.output.toString().trim()).toBe(readFileSync('/proc/self/timerslack_ns', 'utf8').trim());
  });
});
