import path from 'node:path';
import type { Logger } from '../logger';
import { findUsableGo, goInstall, TOOLS_BIN_DIR } from './go-tools';
import { findOnPath, isExecutable, run } from './processes';

/** Go module path of the Temporal CLI, built with `go install` when no binary is at hand. */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

/** Pinned Temporal CLI release (server 1.29, UI 2.42). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

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
  const version = `-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION.replace(/^v/, '')}`;
  return goInstall({ go, module: TEMPORAL_CLI_MODULE, version: TEMPORAL_CLI_VERSION, binary: 'temporal', ldflags: `-s -w ${version}`, what: 'the Temporal CLI' }, log);
}

/** The first line of `temporal --version`, e.g. `temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)`. */
export async function getTemporalCliVersion(cli: string): Promise<string> {
  const result = await run(cli, ['--version'], process.env);
  if (result.code !== 0) throw new Error(`${cli} --version failed: ${result.output.toString()}`);
  return result.output.toString().split('\n')[0]?.trim() ?? '';
}
