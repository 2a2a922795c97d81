import { ServiceProcess } from '../helpers/service-process';
import { eventually, testConfig } from '../helpers/stack';
import { processEnv } from '../helpers/worker-process';

/**
 * The API and the worker processes each log, at start, how V8 sized their heaps: an operator
 * reads there whether a container's memory limit shrank them (docs/deploy.md, "Memory"). A
 * `NODE_OPTIONS` heap option is seen as the operator's own choice.
 */
describe('when the API and the worker processes start', () => {
  const config = testConfig();
  const started: ServiceProcess[] = [];

  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
  });

  it.each([
    ['api', 'src/server.ts', { HOST: '127.0.0.1', PORT: '0' }],
    ['worker', 'src/worker.ts', { WORKER_METRICS_PORT: '0' }],
  ])('then the %s logs its heap limit, and NODE_OPTIONS=--max-old-space-size as sizing it by hand', async (name, entry, env) => {
    const proc = ServiceProcess.start(name, entry, { ...processEnv(config), ...env, NODE_OPTIONS: '--max-old-space-size=200' });
    started.push(proc);
    const line = await eventually(async () => {
      const found = proc.output(20_000).split('\n').find((l) => l.includes('"msg":"V8 heap sizes"'));
      if (!found && !proc.alive) throw new Error(`${name} exited first: ${proc.output()}`);
      return found;
    }, 60_000, `${name} to log its heap sizes`);
    const logged = JSON.parse(line) as { name: string; heapLimitMb: number; sizedByHand: boolean; memoryLimitMb: number | null };
    expect(logged).toMatchObject({ name, sizedByHand: true });
    // 200 MB of old generation plus the young generation V8 derives from it.
    expect(logged.heapLimitMb).toBeGreaterThanOrEqual(200);
    expect(logged.heapLimitMb).toBeLessThan(260);
  }, 90_000);
});
