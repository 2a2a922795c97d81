import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../config';
import type { Logger } from '../logger';

/** Go module path of the Temporal CLI, built with `go install` when no binary is at hand. */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

/** Pinned Temporal CLI release (server 1.29, UI 2.42). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

/** Oldest Go that builds {@link TEMPORAL_CLI_VERSION} (its go.mod says `go 1.25.0`). */
const MIN_GO = { major: 1, minor: 25 } as const;

/** Folder the project builds its own tools into (git-ignored). */
export const TOOLS_BIN_DIR = path.join(PROJECT_ROOT, '.tools', 'bin');

const OUTPUT_TAIL_LINES = 40;

// ---------------------------------------------------------------------------------------------
// Finding or building the CLI
// ---------------------------------------------------------------------------------------------

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** First executable called `name` on `PATH`, or `null`. */
async function findOnPath(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

/** Keeps the last lines written to a stream, for error messages. */
export class OutputTail {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(private readonly max = OUTPUT_TAIL_LINES) {}

  /** Appends a chunk; calls `onLine` for every complete line. */
  push(chunk: Buffer | string, onLine?: (line: string) => void): void {
    const text = this.partial + chunk.toString();
    const parts = text.split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      if (line.trim() === '') continue;
      this.lines.push(line);
      if (this.lines.length > this.max) this.lines.shift();
      onLine?.(line);
    }
  }

  last(): string | undefined {
    return this.lines[this.lines.length - 1];
  }

  toString(): string {
    const all = this.partial.trim() === '' ? this.lines : [...this.lines, this.partial];
    return all.join('\n');
  }
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: OutputTail;
}

/** Runs a command to completion, keeping the tail of its combined output. */
function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  onLine?: (line: string) => void,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const output = new OutputTail();
    const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk, onLine));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk, onLine));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, output }));
  });
}

/** Finds a Go toolchain new enough to build the CLI: `go` on PATH, else `/usr/local/go/bin/go`. */
async function findUsableGo(log: Logger): Promise<string | null> {
  const candidates = [await findOnPath('go'), '/usr/local/go/bin/go'];
  for (const go of candidates) {
    if (go === null || !(await isExecutable(go))) continue;
    let result: RunResult;
    try {
      result = await run(go, ['env', 'GOVERSION'], { ...process.env, GOTOOLCHAIN: 'local' });
    } catch {
      continue;
    }
    const version = result.output.toString().trim();
    const match = /^go(\d+)\.(\d+)/.exec(version);
    if (result.code !== 0 || !match) {
      log.debug({ go, version }, 'cannot read Go version');
      continue;
    }
    const major = Number(match[1]);
    const minor = Number(match[2]);
    if (major > MIN_GO.major || (major === MIN_GO.major && minor >= MIN_GO.minor)) return go;
    log.warn(
      { go, version },
      `Go ${MIN_GO.major}.${MIN_GO.minor} or newer is needed to build the Temporal CLI ${TEMPORAL_CLI_VERSION}`,
    );
  }
  return null;
}

/**
 * Builds the pinned Temporal CLI into {@link TOOLS_BIN_DIR} with `go install` (GOTOOLCHAIN=local,
 * so Go never downloads a toolchain). Takes minutes on a cold module cache; logs progress.
 */
async function buildTemporalCli(go: string, log: Logger): Promise<string> {
  await mkdir(TOOLS_BIN_DIR, { recursive: true });
  const target = path.join(TOOLS_BIN_DIR, 'temporal');
  const versionFlag = `-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION.replace(/^v/, '')}`;
  const args = ['install', '-ldflags', `-s -w ${versionFlag}`, `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`];
  log.info(
    { go, target, command: `go ${args.join(' ')}` },
    `building the Temporal CLI ${TEMPORAL_CLI_VERSION} from source; this takes a few minutes the first time`,
  );
  const started = Date.now();
  let lastLine: string | undefined;
  const progress = setInterval(() => {
    log.info(
      { elapsedS: Math.round((Date.now() - started) / 1000), last: lastLine },
      'still building the Temporal CLI',
    );
  }, 30_000);
  let result: RunResult;
  try {
    result = await run(go, args, { ...process.env, GOBIN: TOOLS_BIN_DIR, GOTOOLCHAIN: 'local' }, (line) => {
      lastLine = line;
      log.debug({ line }, 'go install');
    });
  } finally {
    clearInterval(progress);
  }
  if (result.code !== 0 || !(await isExecutable(target))) {
    throw new Error(
      `go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION} failed ` +
        `(exit ${result.code ?? result.signal}); last output:\n${result.output.toString()}`,
    );
  }
  log.info({ target, elapsedS: Math.round((Date.now() - started) / 1000) }, 'built the Temporal CLI');
  return target;
}

/**
 * Finds the Temporal CLI without the internet: `temporal` on `PATH`, else
 * `<project>/.tools/bin/temporal`, else builds it there with `go install` from its pinned Go
 * module (needs Go ≥ 1.25 on `PATH` or in `/usr/local/go/bin`).
 *
 * @returns the path of the binary, or `null` when there is no binary and no usable Go.
 * @throws Error with the tail of Go's output when the build itself fails.
 */
export async function findOrInstallTemporalCli(log: Logger): Promise<string | null> {
  const onPath = await findOnPath('temporal');
  if (onPath) {
    log.debug({ cli: onPath }, 'using the Temporal CLI on PATH');
    return onPath;
  }
  const local = path.join(TOOLS_BIN_DIR, 'temporal');
  if (await isExecutable(local)) {
    log.debug({ cli: local }, 'using the project-local Temporal CLI');
    return local;
  }
  const go = await findUsableGo(log);
  if (!go) {
    log.warn('no Temporal CLI on PATH or in .tools/bin, and no Go toolchain (>= 1.25) to build one');
    return null;
  }
  return buildTemporalCli(go, log);
}

/** The first line of `temporal --version`, e.g. `temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)`. */
export async function getTemporalCliVersion(cli: string): Promise<string> {
  const result = await run(cli, ['--version'], process.env);
  if (result.code !== 0) throw new Error(`${cli} --version failed: ${result.output.toString()}`);
  return result.output.toString().split('\n')[0]?.trim() ?? '';
}

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

/** Asks the OS for a free TCP port on `host`. */
