import type { Request, RequestHandler, Response } from 'express';
import type { Metrics } from '../metrics';

/** Route label of requests no route answered (401 before routing, 404, unparsable requests). */
export const UNMATCHED_ROUTE = 'unmatched';

/** The matched route's full pattern, e.g. `/api/v1/endpoints/:id` (never the URL: no ids in labels). */
function routePattern(req: Request): string | undefined {
  const path: unknown = req.route?.path;
  if (typeof path !== 'string') return undefined;
  return req.baseUrl + (path === '/' && req.baseUrl ? '' : path);
}

/**
 * First handler of a route in a mounted router. It keeps the pattern while `req.baseUrl` still
 * holds the mount path: Express resets `baseUrl` when an error leaves the router, before the
 * error handler answers.
 */
export const rememberRoute: RequestHandler = (req, res, next) => {
  res.locals.route = routePattern(req);
  next();
};

/** Seconds since the request reached the app (its first middleware, {@link httpMetrics}); null in an app without it. */
export function secondsSinceReceived(res: Response): number | null {
  const receivedAt: unknown = res.locals.receivedAt;
  return typeof receivedAt === 'number' ? (performance.now() - receivedAt) / 1000 : null;
}

/**
 * Counts and times every answered request by method, route pattern and status. The app's first
 * middleware: it notes when the request arrived (`res.locals.receivedAt`, read by
 * {@link secondsSinceReceived}).
 */
export function httpMetrics(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const receivedAt = performance.now();
    res.locals.receivedAt = receivedAt;
    res.on('finish', () => {
      // Routes mounted at the root (health, metrics, inbound) need no rememberRoute.
      const route = (res.locals.route as string | undefined) ?? routePattern(req) ?? UNMATCHED_ROUTE;
      metrics.observeHttpRequest(req.method, route, res.statusCode, (performance.now() - receivedAt) / 1000);
    });
    next();
  };
}
