import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Config } from '../../src/config';
import { TEST_MASTER_KEY, TEST_TOKEN } from './stack';

const ROOT = path.resolve(__dirname, '../..');

/** The environment of a service process (worker or API) on a test stack's database, Temporal and task queue. */
export function processEnv(config: Config): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_URL: config.DATABASE_URL!,
    TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS!,
    TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
    MASTER_KEY: TEST_MASTER_KEY,
    TEMPORAL_CODEC_KEY: config.TEMPORAL_CODEC_KEY!,
    API_TOKEN: TEST_TOKEN,
  };
}

/** Runs `src/worker.ts` as its own process (as in production), so a test can kill it; `env` adds settings. */
export function spawnWorker(config: Config, env: Record<string, string> = {}): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      ...processEnv(config),
      // No metrics listener: the default port may be taken by another run or a local worker.
      WORKER_METRICS_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

/** Resolves when the process has exited, with its exit code (null when a signal ended it). */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
