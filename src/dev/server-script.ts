import { loadDevConfig, loadDotEnv } from '../config';
import { createLogger, type Logger } from '../logger';
import type { RunningTemporal } from './running-temporal';

/** Writes one line to stdout (what a server script tells its user). */
export function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * Keeps a started Temporal server running until Ctrl-C / SIGTERM, then stops it (exit code 0),
 * or until it exits on its own (exit code 1). `what` names it in the log.
 */
export async function serveUntilStopped(server: Pick<RunningTemporal, 'address' | 'exited' | 'stop'>, what: string, log: Logger): Promise<number> {
  const outcome = await new Promise<'signal' | 'exited'>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      // Under `npm run`, one Ctrl-C arrives twice (from the terminal and relayed by tsx); stop()
      // is bounded anyway (SIGKILL after 10 s), so repeats are only acknowledged.
      if (stopping) return;
      stopping = true;
      log.info({ signal }, `stopping ${what}`);
      resolve('signal');
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    void server.exited?.then(() => resolve('exited'));
  });
  if (outcome === 'exited') {
    log.error({ address: server.address }, `${what} stopped unexpectedly`);
    return 1;
  }
  await server.stop();
  log.info(`${what} stopped`);
  return 0;
}

/**
 * The entry point of a server script (`npm run temporal`, `npm run cluster`): `--help` prints
 * `usage`, `--install-only` runs `install`, no option runs `run`; anything else is exit code 2.
 * The step's answer is the exit code; an error is printed under the script's `name` (exit 1).
 */
export function serverScript(name: string, usage: string, steps: { install(log: Logger): Promise<number>; run(log: Logger): Promise<number> }): void {
  const main = async (): Promise<void> => {
    loadDotEnv();
    const args = process.argv.slice(2);
    if (args.includes('--help') || args.includes('-h')) {
      process.stdout.write(usage);
      return;
    }
    const unknown = args.filter((arg) => arg !== '--install-only');
    if (unknown.length > 0) {
      process.stderr.write(`unknown argument(s): ${unknown.join(' ')}\n${usage}`);
      process.exitCode = 2;
      return;
    }
    const log = createLogger(loadDevConfig().LOG_LEVEL, name);
    process.exitCode = args.includes('--install-only') ? await steps.install(log) : await steps.run(log);
  };
  main().catch((err: unknown) => {
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
