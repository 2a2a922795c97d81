import path from 'node:path';
import { run } from './processes';

/**
 * Compiles the project with `npm run build` (`tsconfig.build.json` into `dist/`), for what runs
 * it as the Docker image does: compiled JavaScript, without tsx's loader and the memory it holds
 * (the bench's children, the cluster test's processes).
 */
export async function buildProject(): Promise<void> {
  const result = await run('npm', ['run', '--silent', 'build'], process.env);
  if (result.code !== 0) throw new Error(`npm run build failed:\n${result.output.toString()}`);
}

/** The compiled module of a source entry, from the project root: `src/worker.ts` → `dist/src/worker.js`. */
export function compiledEntry(entry: string): string {
  return path.join('dist', entry.replace(/\.ts$/, '.js'));
}
