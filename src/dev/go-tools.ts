import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../config';
import type { Logger } from '../logger';
import { findOnPath, isExecutable, run, type RunResult } from './processes';

/** Folder the project builds its own tools into (git-ignored). */
export const TOOLS_BIN_DIR = path.join(PROJECT_ROOT, '.tools', 'bin');

/** Oldest Go that builds the pinned Temporal tools (their go.mod says `go 1.25.0`). */
export const MIN_GO = { major: 1, minor: 25 } as const;

/** Finds a Go toolchain new enough to build the tools: `go` on PATH, else `/usr/local/go/bin/go`. */
export async function findUsableGo(log: Logger): Promise<string | null> {
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
    log.warn({ go, version }, `Go ${MIN_GO.major}.${MIN_GO.minor} or newer is needed to build the project's Temporal tools`);
  }
  return null;
}

export interface GoInstallIn {
  go: string;
  /** Go package path, e.g. `github.com/temporalio/cli/cmd/temporal`. */
  module: string;
  version: string;
  /** The binary `go install` writes (the package's last path element). */
  binary: string;
  /** Where the binary goes; default {@link TOOLS_BIN_DIR}. */
  binDir?: string;
  ldflags?: string;
  /** Shown in progress messages, e.g. `the Temporal CLI`. */
  what: string;
}

/**
 * Builds a pinned Go tool with `go install` (GOTOOLCHAIN=local, so Go never downloads a
 * toolchain). Takes minutes on a cold module cache; logs progress every 30 s.
 *
 * @returns the path of the built binary.
 * @throws Error with the tail of Go's output when the build fails.
 */
export async function goInstall(input: GoInstallIn, log: Logger): Promise<string> {
  const binDir = input.binDir ?? TOOLS_BIN_DIR;
  await mkdir(binDir, { recursive: true });
  const target = path.join(binDir, input.binary);
  const args = ['install', ...(input.ldflags ? ['-ldflags', input.ldflags] : []), `${input.module}@${input.version}`];
  log.info({ go: input.go, target, command: `go ${args.join(' ')}` }, `building ${input.what} ${input.version} from source; this takes a few minutes the first time`);
  const started = Date.now();
  let lastLine: string | undefined;
  const progress = setInterval(() => {
    log.info({ elapsedS: Math.round((Date.now() - started) / 1000), last: lastLine }, `still building ${input.what}`);
  }, 30_000);
  let result: RunResult;
  try {
    result = await run(input.go, args, { ...process.env, GOBIN: binDir, GOTOOLCHAIN: 'local' }, (line) => {
      lastLine = line;
      log.debug({ line }, 'go install');
    });
  } finally {
    clearInterval(progress);
  }
  if (result.code !== 0 || !(await isExecutable(target))) {
    throw new Error(`go install ${input.module}@${input.version} failed (exit ${result.code ?? result.signal}); last output:\n${result.output.toString()}`);
  }
  log.info({ target, elapsedS: Math.round((Date.now() - started) / 1000) }, `built ${input.what}`);
  return target;
}
