import { randomUUID } from 'node:crypto';
import express, { type Express, type RequestHandler, type Router } from 'express';
import { pinoHttp } from 'pino-http';
import type { AppDeps } from '../services/deps';
import { deliveriesRoutes } from './deliveries-router';
import { endpointsRoutes } from './endpoints-router';
import { recoveriesRoutes } from './recoveries-router';
import { keysRoutes } from './keys-router';
import { eventTypesRoutes } from './event-types-router';
import { eventsRoutes } from './events-router';
import type { RouteTable } from './route-table';
import { healthRouter } from './health-router';
import { httpMetrics } from './http-metrics';
import { tracingMiddleware } from './tracing-middleware';
import { inboundOpenApiPaths, inboundRouter } from './inbound-router';
import { integrationsRoutes } from './integrations-router';
import { settingsRoutes } from './settings-router';
import { sourcesRoutes } from './sources-router';
import { telemetryRoutes } from './telemetry-router';
import { buildOpenApi } from './openapi';
import { codecRouter } from './codec-router';
import { apiKeysRoutes } from './api-keys-router';
import { auditRoutes } from './audit-router';
import { authenticate, bootstrapTokenResolver, platformTokenResolver, type CredentialResolver } from './auth';
import { apiKeyResolver, introspectionResolver, jwtResolver, platformKeyResolver } from './credentials';
import { checkJsonInput, verifyUtf8 } from './json-input';
import { platformAuditRoutes } from './platform-audit-router';
import { platformKeysRoutes } from './platform-keys-router';
import { tenantsRoutes } from './tenants-router';
import { portalRouter, withoutLinkCode } from './portal-app';
import { portalRoutes } from './portal-router';
import { errorHandler, notFound, requireJsonBody } from './middleware';

/** Version of the HTTP API reported in its OpenAPI document. */
export const API_VERSION = '1.0.0';

/** Every documented route of `/api/v1`, one table per resource. */
export function apiRoutes(deps: AppDeps): RouteTable[] {
  return [
    endpointsRoutes(deps), recoveriesRoutes(deps), integrationsRoutes(deps), eventsRoutes(deps), deliveriesRoutes(deps), apiKeysRoutes(deps), eventTypesRoutes(deps),
    settingsRoutes(deps), auditRoutes(deps), keysRoutes(deps), sourcesRoutes(deps), telemetryRoutes(deps), tenantsRoutes(deps), platformKeysRoutes(deps), platformAuditRoutes(deps),
    portalRoutes(deps),
  ];
}

/**
 * API keys, platform keys, JWTs, the bootstrap token, the platform token, then (network-bound,
 * so last) token introspection.
 */
export function credentialResolvers(deps: AppDeps, apiToken: string): CredentialResolver[] {
  return [
    apiKeyResolver(deps.db, deps.log),
    platformKeyResolver(deps.db, deps.log),
    jwtResolver(deps.config, deps.db),
    bootstrapTokenResolver(apiToken, deps.config.DEFAULT_TENANT_ID, deps.db),
    deps.config.PLATFORM_API_TOKEN ? platformTokenResolver(deps.config.PLATFORM_API_TOKEN) : null,
    introspectionResolver(deps.config, deps.db),
  ].filter((r): r is CredentialResolver => r !== null);
}

/** Builds the HTTP API. `apiToken` guards everything under `/api/v1`. */
export function createApp(deps: AppDeps, apiToken: string): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // First, so that a request's time (and ingest's `admit` part) starts when it reaches the app.
  app.use(httpMetrics(deps.metrics));
  app.use(
    pinoHttp({
      logger: deps.log,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w-]{1,128}$/.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
      serializers: { req: withoutLinkCode },
    }),
  );
  if (deps.tracing) app.use(tracingMiddleware(deps.tracing.tracer));
  app.use(healthRouter(deps));
  app.use(inboundRouter(deps));

  const tables = apiRoutes(deps);
  const openApi = buildOpenApi(tables, API_VERSION, inboundOpenApiPaths());
  app.get('/api/v1/openapi.json', (_req, res) => {
    res.json(openApi);
  });

  // `/keys/…` (the short paths of the key API) are /api/v1/keys/…: same credentials, scopes and handlers.
  app.use((req, _res, next) => {
    if (/^\/keys(\/|\?|$)/.test(req.url)) req.url = `/api/v1${req.url}`;
    next();
  });

  const resolvers = credentialResolvers(deps, apiToken);
  app.use('/codec', codecRouter(deps, resolvers));

  // One JSON API, two ways in: bearer credentials at /api/v1, the portal's session cookie at /portal/api/v1.
  const api = (auth: RequestHandler): Router => {
    const router = express.Router();
    router.use(auth);
    router.use(requireJsonBody);
    router.use(express.json({ limit: deps.config.MAX_BODY_BYTES, strict: true, verify: verifyUtf8 }));
    router.use(checkJsonInput);
    for (const table of tables) router.use(table.base, table.router);
    return router;
  };
  app.use('/api/v1', api(authenticate(resolvers)));
  app.use('/portal', portalRouter(deps, api));

  app.use(notFound);
  app.use(errorHandler(deps.log));
  return app;
}
