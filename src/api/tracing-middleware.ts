import { context, propagation, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { UNMATCHED_ROUTE } from './http-metrics';

/**
 * A server span per API request, continuing the caller's trace when it sends a W3C `traceparent`,
 * and active while the request is handled, so workflows started for it (the client interceptor)
 * and everything after them join the same trace. Named by method and route pattern, never the
 * URL (no ids, no tokens).
 */
export function tracingMiddleware(tracer: Tracer): RequestHandler {
  return (req, res, next) => {
    const parent = propagation.extract(context.active(), req.headers);
    const span = tracer.startSpan(`${req.method}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } }, parent);
    res.on('close', () => {
      const route = (res.locals.route as string | undefined) ?? UNMATCHED_ROUTE;
      span.updateName(`${req.method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': res.statusCode });
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}
