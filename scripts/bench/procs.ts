import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { PROJECT_ROOT } from '../../src/config';
import { compiledEntry } from '../../src/dev/build';
import { epochMs } from './clock';

/** Linux USER_HZ: /proc times are in 1/100 s on every mainstream architecture. */
const CLOCK_TICKS = 100;
const RSS_INTERVAL_MS = 250;
const STOP_GRACE_MS = 5_000;

/** A process's resident memory in kB: all of it, and the part mapped from files (its code: the Node binary, native modules). */
export interface RssKb {
  kb: number;
  fileKb: number;
}

/** {@link RssKb} from the text of `/proc/<pid>/status` (`VmRSS`, and `RssFile`: Linux 4.5 on, 0 when absent). */
export function parseRss(status: string): RssKb | null {
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
    return match ? Number(match[1]) : null;
  };
  const kb = field('VmRSS');
  return kb === null ? null : { kb, fileKb: field('RssFile') ?? 0 };
}

/** {@link RssKb} of a process, or null when it is gone. */
function readRss(pid: number): RssKb | null {
  try {
    return parseRss(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null;
  }
}

interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime (+ cutime + cstime when asked), in seconds. */
  cpuS: number;
}

function readStat(pid: number | string, withChildren = false): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const f = text.slice(close + 2).split(' ');
    // f[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    const ticks = Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0);
    return { pid: Number(pid), comm, ppid: Number(f[1]), cpuS: ticks / CLOCK_TICKS };
  } catch {
    return null;
  }
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(name);
    if (stat) out.push(stat);
  }
  return out;
}

/** CPU seconds (user + system) a process has used so far, or null when it is gone. */
export function cpuSecondsOf(pid: number): number | null {
  return readStat(pid)?.cpuS ?? null;
}

/** The command line of a process, split at its NULs ([] when it is gone). */
export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  } catch {
    return [];
  }
}

/** Pid of the `temporal` process serving gRPC on `port` (a dev server the bench started), or null. */
export function findTemporalServerPid(port: number): number | null {
  for (const stat of allStats()) {
    if (stat.comm !== 'temporal') continue;
    const args = commandLine(stat.pid);
    const at = args.indexOf('--port');
    if (at >= 0 && args[at + 1] === String(port)) return stat.pid;
  }
  return null;
}

/** CPU seconds used so far by the processes of a run. */
export interface CpuSnapshot {
  /** This process: load generator and receiver. */
  bench: number;
  /** The service's API processes (null: none apart, e.g. the floor or the one-process service). */
  api: number | null;
  /** The delivering processes: service workers or the floor process (null: none). */
  worker: number | null;
  /** The Temporal server processes (null: not on this machine). */
  temporal: number | null;
  /** Every local `postgres` process, other databases' work included (reaped backends too). */
  postgresAll: number | null;
}

function sumOf(pids: readonly number[]): number | null {
  if (pids.length === 0) return null;
  let sum = 0;
  for (const pid of pids) {
    const s = cpuSecondsOf(pid);
    if (s === null) return null;
    sum += s;
  }
  return sum;
}

export function cpuSnapshot(workerPids: readonly number[], temporalPids: readonly number[], apiPids: readonly number[] = []): CpuSnapshot {
  const postgres = allStats()
    .filter((s) => s.comm === 'postgres')
    .reduce((sum, s) => sum + (readStat(s.pid, true)?.cpuS ?? 0), 0);
  return {
    bench: cpuSecondsOf(process.pid) ?? 0,
    api: sumOf(apiPids),
    worker: sumOf(workerPids),
    temporal: sumOf(temporalPids),
    postgresAll: postgres > 0 ? postgres : null,
  };
}

/** CPU seconds used between two snapshots, per process. */
export function cpuUsed(from: CpuSnapshot, to: CpuSnapshot): CpuSnapshot {
  const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : Math.max(0, b - a));
  return {
    bench: to.bench - from.bench,
    api: diff(from.api, to.api),
    worker: diff(from.worker, to.worker),
    temporal: diff(from.temporal, to.temporal),
    postgresAll: diff(from.postgresAll, to.postgresAll),
  };
}

let stampChildLines = false;
/** From now on, each output line of a child is printed after the epoch ms it arrived at, on the samples' clock (`--samples`). */
export function stampChildOutput(): void {
  stampChildLines = true;
}

/** Every exit path of this process kills the children it still has (SIGKILL: no time left). */
const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/**
 * What the Docker image sets for every process it runs, beyond the service's own settings
 * (`ENV` in the Dockerfile, and `npm run start:*`): the bench's floors, APIs and workers run with
 * it too. `MALLOC_ARENA_MAX=2`: two glibc malloc arenas instead of up to eight per core
 * (docs/benchmark.md: the worker's peak RSS 30-65 MB lower, the same CPU per delivery).
 * `MALLOC_MMAP_THRESHOLD_` and `MALLOC_TRIM_THRESHOLD_` at glibc's own starting value, 128 KiB,
 * and fixed: glibc otherwise raises both each time a large block is freed (up to 32 and 64 MB), so
 * that large blocks stay in the arenas once freed instead of going back to the system
 * (docs/benchmark.md, thirty-seventh session: the burst's peak about 50 MB lower).
 */
export const DEPLOYED_PROCESS_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: '131072',
};

/** {@link DEPLOYED_PROCESS_ENV} as this run gives it: a value in the bench's own environment replaces the image's. */
export function benchProcessEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(DEPLOYED_PROCESS_ENV).map(([name, value]) => [name, process.env[name] ?? value]));
}

/**
 * A Node process of the bench (a service worker, a floor process), its RSS sampled every
 * 250 ms, its output forwarded to stderr with a label; optionally with an IPC channel.
 */
export class ChildWorker {
  private readonly samples: Array<RssKb & { at: number }> = [];
  private readonly timer: NodeJS.Timeout;
  private readonly tail: string[] = [];
  private stopped: Promise<void> | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  private constructor(private readonly child: ChildProcess, readonly label: string) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        liveChildren.delete(child);
        clearInterval(this.timer);
        resolve(this.exitInfo);
      });
    });
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        this.tail.push(line);
        if (this.tail.length > 30) this.tail.shift();
        process.stderr.write(stampChildLines ? `${epochMs().toFixed(0)} [${label}] ${line}\n` : `[${label}] ${line}\n`);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.timer = setInterval(() => this.sample(), RSS_INTERVAL_MS);
    this.timer.unref();
  }

  /**
   * Runs `entry` (`src/worker.ts`, say) compiled, as deployed: `node dist/src/worker.js` from the
   * project root with the image's process environment ({@link DEPLOYED_PROCESS_ENV}, unless ours
   * sets it) and `env` added to ours ({@link buildProject} first). `BENCH_NODE_ARGS` adds
   * Node options Node refuses in NODE_OPTIONS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to
   * profile the workers and the floor.
   */
  static spawn(entry: string, env: Record<string, string>, label: string, options: { ipc?: boolean } = {}): ChildWorker {
    const extra = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
    const child = spawn(process.execPath, [...extra, compiledEntry(entry)], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...benchProcessEnv(), ...env },
      stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    });
    liveChildren.add(child);
    child.once('error', (err) => process.stderr.write(`[${label}] cannot start: ${err.message}\n`));
    return new ChildWorker(child, label);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The IPC channel (spawned with `ipc: true`). */
  get ipc(): ChildProcess {
    return this.child;
  }

  /** Takes one RSS sample now (also done every 250 ms); answers it in MB (null: the process is gone). */
  sample(): number | null {
    const rss = readRss(this.pid);
    if (rss !== null) this.samples.push({ at: performance.now(), ...rss });
    return rss === null ? null : rss.kb / 1024;
  }

  /** Peak RSS in MB over samples taken in [from, to] (`performance.now()`; default: the whole life). */
  peakMb(from = 0, to = Number.POSITIVE_INFINITY): number | null {
    return this.peak(from, to)?.mb ?? null;
  }

  /** The sample of the peak RSS in [from, to], in MB: all of it, and the part mapped from files. */
  peak(from = 0, to = Number.POSITIVE_INFINITY): { mb: number; fileMb: number } | null {
    let peak: RssKb | null = null;
    for (const s of this.samples) if (s.at >= from && s.at <= to && (peak === null || s.kb > peak.kb)) peak = s;
    return peak && { mb: peak.kb / 1024, fileMb: peak.fileKb / 1024 };
  }

  /** Last lines the process printed, for error messages. */
  output(): string {
    return this.tail.join('\n');
  }

  /** Throws when the process has already exited. */
  assertAlive(): void {
    if (this.exitInfo) {
      const how = this.exitInfo.signal ?? `code ${this.exitInfo.code}`;
      throw new Error(`${this.label} exited early (${how}); last output:\n${this.output()}`);
    }
  }

  /** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. Idempotent. */
  stop(): Promise<void> {
    return (this.stopped ??= (async () => {
      if (this.exitInfo === null) {
        this.child.kill('SIGTERM');
        const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
        await this.exited;
        clearTimeout(timer);
      }
      clearInterval(this.timer);
    })());
  }
}

/** A request without its tag (the requester adds it). */
export type Untagged<T> = T extends unknown ? Omit<T, 'tag'> : never;

/** The answer a child gives to a request it could not carry out. */
type FailedAnswer = { type: 'failed'; message: string };

/**
 * Requests to a child over its IPC channel (spawned with `ipc: true`): each goes out with a tag
 * of its own and is answered by the one message carrying that tag; a `failed` answer rejects with
 * its message, prefixed by the child's `name`. A `ready` message (untagged) resolves {@link ready}.
 */
export class IpcRequests<To extends { tag: number }, From extends { type: string }> {
  private tags = 0;
  private readonly waiting = new Map<number, (message: From) => void>();
  readonly ready: Promise<void>;

  constructor(
    private readonly child: ChildWorker,
    private readonly name: string,
  ) {
    let onReady: () => void = () => undefined;
    this.ready = new Promise<void>((resolve) => (onReady = () => resolve()));
    child.ipc.on('message', (message: From) => {
      if (message.type === 'ready') return onReady();
      const { tag } = message as From & { tag?: number };
      if (tag === undefined) return;
      this.waiting.get(tag)?.(message);
      this.waiting.delete(tag);
    });
  }

  /** Sends `message` with a new tag; resolves with its answer, rejects when it is `failed` or the child exits first. */
  async ask(message: Untagged<To>): Promise<Exclude<From, FailedAnswer>> {
    this.child.assertAlive();
    const tag = ++this.tags;
    const answer = await new Promise<From>((resolve, reject) => {
      const onExit = () => reject(new Error(`${this.child.label} exited; last output:\n${this.child.output()}`));
      this.child.exited.then(onExit, onExit);
      this.waiting.set(tag, resolve);
      this.child.ipc.send({ ...message, tag });
    });
    if (answer.type === 'failed') throw new Error(`${this.name}: ${(answer as From & FailedAnswer).message}`);
    return answer as Exclude<From, FailedAnswer>;
  }
}
