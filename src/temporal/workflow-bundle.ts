import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger';
import { MODULE_EXT } from './workflows-path';

/** The script a worker forks to bundle its workflows (see {@link bundleWorkflowsApart}). */
const BUNDLER = path.join(__dirname, `workflow-bundler${MODULE_EXT}`);

export interface BuiltBundle {
  codePath: string;
  /** Removes the bundle's folder (once the worker has loaded it). */
  remove(): Promise<void>;
}

/**
 * Bundles the workflows (webpack) in a child process and answers the file it wrote; with
 * `tracing`, the SDK's OpenTelemetry workflow interceptors are bundled with them. Bundling in
 * the worker's own process leaves about 75 MB of resident memory behind for the life of the
 * worker, even after garbage collection; a child returns it to the system when it exits.
 */
export async function bundleWorkflowsApart(log: Logger, options: { tracing: boolean }): Promise<BuiltBundle> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'webhooks-workflows-'));
  const codePath = path.join(dir, 'workflow-bundle.js');
  const started = Date.now();
  // The child runs with this process's Node options. From source the bundler is TypeScript, so
  // tsx's loader is added when this process runs without it (a test runner, say).
  const fromSource = MODULE_EXT === '.ts' && !process.execArgv.some((arg) => arg.includes('tsx'));
  const execArgv = fromSource ? [...process.execArgv, '--import', 'tsx'] : process.execArgv;
  const child = fork(BUNDLER, [codePath, ...(options.tracing ? ['--tracing'] : [])], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  });
  if (code !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`bundling the workflows failed (exit ${code}); see the output above`);
  }
  log.info({ ms: Date.now() - started }, 'workflows bundled');
  return { codePath, remove: () => rm(dir, { recursive: true, force: true }) };
}
