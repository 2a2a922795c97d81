import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { request, type Dispatcher } from 'undici';
import type { AttemptResult } from '../domain/delivery';
import { checkDestination, checkResolvedDestination, urlHost, type EgressPolicy } from '../security/egress';
import { withDeadline } from './deadline';
import { classifyStatus, networkErrorClass, parseRetryAfter, statusErrorClass } from './outcome';

/** Spans of outbound requests are made under this tracer name (the service's). */
const TRACER_NAME = 'temporal-webhooks';
const MAX_ERROR_MESSAGE = 500;

/** Reads at most `limit` bytes of a response body, then lets go of the rest. */
async function readExcerpt(body: Readable & { dump?: () => Promise<void> }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (limit > 0) {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk.subarray(0, limit - size));
      size += Math.min(chunk.length, limit - size);
      if (size >= limit) break;
    }
  }
  if (size < limit || limit === 0) await body.dump?.().catch(() => undefined);
  else body.destroy();
  return Buffer.concat(chunks).toString('utf8');
}

export interface PostWebhookIn {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  excerptBytes: number;
  /**
   * From `outboundDispatcher` (`src/http/dispatchers.ts`): without a proxy, host names are checked
   * on resolution there; IP literals (which sockets connect to without a lookup) are checked here.
   */
  http: Dispatcher;
  egress: EgressPolicy;
  /** The dispatcher tunnels through a proxy, which resolves names itself: resolve and check here first. */
  proxied?: boolean;
}

/**
 * POSTs one webhook and classifies the answer (or its absence); never throws for HTTP or network
 * failures. Redirects are not followed.
 *
 * Inside a trace (an activity run by a tracing worker), the request is a client span of its own
 * and carries it to the receiver as W3C `traceparent`. Outside one (tracing off) nothing is made.
 */
export async function postWebhook(input: PostWebhookIn): Promise<AttemptResult> {
  if (trace.getSpan(context.active()) === undefined) return send(input);
  const host = (() => {
    try {
      return urlHost(input.url);
    } catch {
      return 'invalid';
    }
  })();
  // The host only: a URL may carry a secret in its path or query.
  const span = trace.getTracer(TRACER_NAME).startSpan('POST', { kind: SpanKind.CLIENT, attributes: { 'http.request.method': 'POST', 'server.address': host } });
  const traced = trace.setSpan(context.active(), span);
  const headers = { ...input.headers };
  propagation.inject(traced, headers);
  const result = await context.with(traced, () => send({ ...input, headers }));
  if (result.responseStatus !== null) span.setAttribute('http.response.status_code', result.responseStatus);
  if (result.outcome !== 'succeeded') {
    span.setAttribute('error.type', result.errorClass ?? 'error');
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
  return result;
}

async function send(input: PostWebhookIn): Promise<AttemptResult> {
  const started = new Date();
  const t0 = performance.now();
  const elapsed = () => Math.round(performance.now() - t0);
  try {
    const host = urlHost(input.url);
    if (isIP(host)) checkDestination(input.egress, host, host);
    else if (input.proxied) await checkResolvedDestination(input.egress, host);
    // The deadline bounds the whole exchange, the excerpt's read included (a receiver trickling its body).
    const { res, excerpt } = await withDeadline(input.timeoutMs, async (signal) => {
      const res = await request(input.url, {
        method: 'POST',
        headers: input.headers,
        body: input.body,
        dispatcher: input.http,
        signal,
        headersTimeout: input.timeoutMs,
        bodyTimeout: input.timeoutMs,
      });
      return { res, excerpt: await readExcerpt(res.body as unknown as Readable, input.excerptBytes) };
    });
    const outcome = classifyStatus(res.statusCode);
    return {
      outcome,
      startedAt: started.toISOString(),
      durationMs: elapsed(),
      responseStatus: res.statusCode,
      errorClass: statusErrorClass(res.statusCode),
      errorMessage: outcome === 'succeeded' ? null : `receiver answered ${res.statusCode}`,
      responseExcerpt: excerpt,
      retryAfterMs: outcome === 'retryable' ? parseRetryAfter(res.headers['retry-after'], new Date()) : null,
    };
  } catch (err) {
    const errorClass = networkErrorClass(err);
    return {
      // A refused destination stays refused: retrying would only repeat the refusal.
      outcome: errorClass === 'egress_blocked' ? 'failed' : 'retryable',
      startedAt: started.toISOString(),
      durationMs: elapsed(),
      responseStatus: null,
      errorClass,
      errorMessage: (err instanceof Error ? err.message : String(err)).slice(0, MAX_ERROR_MESSAGE),
      responseExcerpt: null,
      retryAfterMs: null,
    };
  }
}
