import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Modules a process loads only when it uses them: the OpenTelemetry SDK and the SDK's tracing
 * interceptors with tracing on (src/tracing.ts, src/temporal/tracing.ts), PGlite for the embedded
 * database (src/db/knex.ts). Every megabyte counts against a worker's memory target.
 */
const ROOT = path.resolve(__dirname, '../..');
const OPTIONAL = /node_modules\/(knex-pglite|@electric-sql\/pglite|@opentelemetry\/(sdk-trace-[a-z]+|exporter-[a-z-]+|resources)|@temporalio\/interceptors-opentelemetry)\//;

/** The optional packages loaded once `script` has run in a fresh Node process (through tsx, as the tests run the sources). */
function optionalPackagesAfter(script: string): string[] {
  const probe = `${script}; console.log(JSON.stringify([...new Set(Object.keys(require.cache).map((f) => (${OPTIONAL}).exec(f)?.[1]).filter(Boolean))]))`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', probe], { cwd: ROOT, env: { PATH: process.env.PATH, NODE_ENV: 'test' }, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as string[];
}

describe('when a process loads the worker and the API without tracing or the embedded database', () => {
  it('then none of the tracing SDK or PGlite modules are loaded', () => {
    expect(optionalPackagesAfter("require('./src/temporal/worker.ts'); require('./activities/index.ts'); require('./src/api/app.ts'); require('./src/db/knex.ts')")).toEqual([]);
  }, 30_000);

  it('then starting tracing loads the SDK, which the check above would see', () => {
    const loaded = optionalPackagesAfter(
      "const { startTracing } = require('./src/tracing.ts'); const { tracingWorkerOptions } = require('./src/temporal/tracing.ts'); const t = startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SERVICE_NAME: 'probe' }); tracingWorkerOptions(t); t.shutdown()",
    );
    expect(loaded).toEqual(expect.arrayContaining(['@opentelemetry/sdk-trace-node', '@temporalio/interceptors-opentelemetry']));
  }, 30_000);
});
