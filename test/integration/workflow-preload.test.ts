import { readFile } from 'node:fs/promises';
import { createLogger } from '../../src/logger';
import { bundleWorkflowsApart } from '../../src/temporal/workflow-bundle';

/** The body of the bundle's `preloadModules()`: what the sandbox evaluates once and shares. */
function preloaded(code: string): string {
  const body = /exports\.preloadModules = function preloadModules\(\) \{([\s\S]*?)\n\}/.exec(code)?.[1];
  if (body === undefined) throw new Error('the bundle has no preloadModules()');
  return body;
}

describe('when a worker bundles its workflows', () => {
  it.each([false, true])('then the sandbox preloads them and all they import, once for every run (tracing: %s)', async (tracing) => {
    const bundle = await bundleWorkflowsApart(createLogger('silent'), { tracing });
    try {
      const code = await readFile(bundle.codePath, 'utf8');
      // Without it, each run of a workflow evaluates its own copy of every module it imports.
      expect(preloaded(code)).toMatch(/__webpack_require__\([^)]*"\.\/(dist\/)?workflows\/index\.(ts|js)"\)/);
      // The tracing interceptors keep per-run state: they stay out of the shared modules.
      expect(preloaded(code)).not.toMatch(/interceptors-opentelemetry/);
    } finally {
      await bundle.remove();
    }
  }, 120_000);
});
