import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PROJECT_ROOT } from '../config';
import type { Logger } from '../logger';
import { guardChild, unguardChild } from './child-guard';
import { isExecutableSync, OutputTail } from './processes';
import type { ChildExit } from './readiness';

const STOP_GRACE_MS = 10_000;

/** A long-running server process this process started and will stop. */
export interface ServerProcess {
  /** How it ended, or null while it runs. */
  exitInfo(): ChildExit | null;
  /** Settles when the process ends, whoever ended it. */
  readonly exited: Promise<void>;
  /** Settles with the error when the command could not be run at all. */
  readonly spawnFailed: Promise<Error>;
  /** The tail of its output, for error messages. */
  readonly output: OutputTail;
  /** SIGTERM, then SIGKILL after 10 s; resolves once it is gone. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL at once, as a crash would end it (`stop()` then waits for it). */
  kill(): void;
  /** Its process id (undefined when it could not be spawned). */
  readonly pid: number | undefined;
}

/** Options of {@link startServerProcess}. */
export interface ServerProcessOptions {
  /** Its environment. Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /**
   * Linux only: the timer slack (ns) it starts with, which every thread it makes inherits. Set by
   * a shell that writes its own `/proc/self/timerslack_ns` and then becomes the server (`exec`),
   * so the server's first thread already has it. Elsewhere, or when the shell cannot set it, the
   * server runs with the kernel's default (50 µs).
   */
  timerSlackNs?: number;
}

/** Where the kernel lets a process set its own timer slack (Linux 4.6 and later). */
const TIMER_SLACK_FILE = '/proc/self/timerslack_ns';

/**
 * The command line that runs `command` with `slackNs` of timer slack: through `/bin/sh`, which
 * sets its own and `exec`s the command in its place (same process id). Unchanged where the
 * kernel has no such setting, or when the command cannot be run (so that spawning it fails as
 * plainly as it would without the shell).
 */
export function withTimerSlack(command: string, args: readonly string[], slackNs: number | undefined): { command: string; args: readonly string[] } {
  if (slackNs === undefined || !existsSync(TIMER_SLACK_FILE) || !isExecutableSync('/bin/sh') || !isExecutableSync(command)) {
    return { command, args };
  }
  const script = `echo "$0" 2>/dev/null > ${TIMER_SLACK_FILE}; exec "$@"`;
  return { command: '/bin/sh', args: ['-c', script, String(Math.round(slackNs)), command, ...args] };
}

/**
 * Starts a server in its own process group, so a terminal's Ctrl-C reaches only this process,
 * which decides when to stop it; it is killed when this process exits. Its output goes to `log`
 * at debug level (errors at warn) until it is being stopped.
 */
export function startServerProcess(command: string, args: readonly string[], log: Logger, name: string, opts: ServerProcessOptions = {}): ServerProcess {
  const run = withTimerSlack(command, args, opts.timerSlackNs);
  const child: ChildProcess = spawn(run.command, run.args, { cwd: PROJECT_ROOT, env: opts.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });

  let exit: ChildExit | null = null;
  let stopping = false;
  let markExited: () => void = () => undefined;
  const exited = new Promise<void>((resolve) => {
    markExited = resolve;
  });
  // 'close' rather than 'exit': it comes after the output pipes are drained, so the tail is whole.
  child.once('close', (code, signal) => {
    exit = { code, signal };
    markExited();
  });
  const spawnFailed = new Promise<Error>((resolve) =>
    child.once('error', (err) => {
      // A process that could not be spawned never emits 'exit'.
      if (child.pid === undefined && exit === null) {
        exit = { code: null, signal: null };
        markExited();
      }
      resolve(err);
    }),
  );

  guardChild(child);
  void exited.then(() => unguardChild(child));

  const output = new OutputTail();
  const onLine = (line: string): void => {
    if (stopping) return;
    if (/level=(ERROR|FATAL)|"level":"(error|fatal)"/.test(line)) log.warn({ line }, name);
    else log.debug({ line }, name);
  };
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk, onLine));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk, onLine));

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      stopping = true;
      if (exit === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          if (exit === null) {
            log.warn(`${name} did not stop within ${STOP_GRACE_MS / 1000} s; killing it`);
            child.kill('SIGKILL');
          }
        }, STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      unguardChild(child);
    })());

  const kill = (): void => {
    stopping = true;
    if (exit === null) child.kill('SIGKILL');
  };

  return { exitInfo: () => exit, exited, spawnFailed, output, stop, kill, pid: child.pid };
}
