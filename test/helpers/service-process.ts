import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { compiledEntry } from '../../src/dev/build';

const ROOT = path.resolve(__dirname, '../..');

/** An entry point (`src/server.ts`, `src/worker.ts`, or a test's own) run as its own process, as in production. */
export class ServiceProcess {
  private log = '';
  private constructor(readonly name: string, readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => this.append(d));
    child.stderr!.on('data', (d: Buffer) => this.append(d));
  }

  /**
   * Starts `entry` with exactly `env` (plus PATH): nothing leaks in from the test's environment.
   * From source through tsx, or with `compiled` as the Docker image runs it: `node dist/…js`,
   * built by {@link buildProject} first.
   */
  static start(name: string, entry: string, env: Record<string, string>, options: { compiled?: boolean } = {}): ServiceProcess {
    const args = options.compiled ? [compiledEntry(entry)] : ['--import', 'tsx', entry];
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    return new ServiceProcess(name, child);
  }

  private append(chunk: Buffer): void {
    this.log = (this.log + chunk.toString()).slice(-20_000);
  }

  /** The last lines it wrote, for failure messages. */
  output(chars = 2_000): string {
    return this.log.slice(-chars);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` and resolves once the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.alive) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill(signal);
    await gone;
  }
}
