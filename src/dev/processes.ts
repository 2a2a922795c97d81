import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config';

const OUTPUT_TAIL_LINES = 40;

/** Whether `file` exists and this process may run it (one `access` call: start-up tooling only). */
export function isExecutableSync(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** {@link isExecutableSync}, for callers written against a promise. */
export async function isExecutable(file: string): Promise<boolean> {
  return isExecutableSync(file);
}

/** First executable called `name` on `PATH`, or `null`. */
export async function findOnPath(name: string): Promise<string | null> {
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

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: OutputTail;
}

/** Runs a command to completion in the project folder, keeping the tail of its combined output. */
export function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, onLine?: (line: string) => void): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const output = new OutputTail();
    const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk, onLine));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk, onLine));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, output }));
  });
}
