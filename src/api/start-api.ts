import { createServer, type Server } from 'node:http';
import { listen } from '../bootstrap';
import { countCircuits } from '../db/endpoint-circuit-repo';
import { resolveApiToken } from '../dev-secrets';
import { createMetrics, type Metrics } from '../metrics';
import type { AppDeps } from '../services/deps';
import { createApp } from './app';
import { answerClientErrors } from './client-errors';

/**
 * Starts the HTTP API on HOST:PORT (PORT 0 picks a free port). Without `metrics` (an API process
 * of its own) it gets a registry of its own; `main.ts` passes the one its worker records to.
 * Apart from src/bootstrap.ts, so a worker process does not load the API's modules.
 */
export async function startApi(deps: Omit<AppDeps, 'metrics'> & { metrics?: Metrics }): Promise<{ server: Server; url: string }> {
  const full: AppDeps = { ...deps, metrics: deps.metrics ?? createMetrics() };
  full.metrics.countQueriesOf(full.db);
  full.metrics.gaugeCircuits(() => countCircuits(full.db));
  const app = createApp(full, resolveApiToken(full.config, full.log));
  const server = createServer(app);
  answerClientErrors(server);
  return listen(server, full.config.HOST, full.config.PORT);
}
