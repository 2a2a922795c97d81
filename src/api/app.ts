import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { AppDeps } from '../services/deps';
import { deliveriesRoutes } from './deliveries-router';
import { endpointsRoutes } from './endpoints-router';
import { eventsRoutes } from './events-router';
import type { RouteTable } from './route-table';
import { healthRouter } from './health-router';
import { authenticate, bootstrapTokenResolver } from './auth';
import { errorHandler, notFound, requireJsonBody } from './middleware';

/** Every documented route of `/api/v1`, one table per resource. */
export function apiRoutes(deps: AppDeps): RouteTable[] {
  return [endpointsRoutes(deps), eventsRoutes(deps), deliveriesRoutes(deps)];
}

/** Builds the HTTP API. `apiToken` guards everything under `/api/v1`. */
export function createApp(deps: AppDeps, apiToken: string): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(
    pinoHttp({
      logger: deps.log,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w-]{1,128}$/.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
    }),
  );
  app.use(healthRouter(deps));

  const api = express.Router();
  api.use(authenticate([bootstrapTokenResolver(apiToken, deps.config.DEFAULT_TENANT_ID)]));
  api.use(requireJsonBody);
  api.use(express.json({ limit: deps.config.MAX_BODY_BYTES, strict: true }));
  for (const table of apiRoutes(deps)) api.use(table.base, table.router);
  app.use('/api/v1', api);

  app.use(notFound);
  app.use(errorHandler(deps.log));
  return app;
}
