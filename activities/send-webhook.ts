import type { Readable } from 'node:stream';
import { request } from 'undici';
import { getEndpoint } from '../src/db/endpoints-repo';
import { openHeaders } from '../src/security/endpoint-headers';
import { getEventBody } from '../src/db/events-repo';
import { NotFoundError } from '../src/errors';
import { classifyStatus, networkErrorClass, parseRetryAfter, statusErrorClass } from '../src/http/outcome';
import type { ActivityDeps } from './deps';
import type { SendIn, SendOut } from './types';

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

/**
 * Sends one attempt. The receiver's answer (or its absence) is returned, classified, never thrown:
 * the workflow decides about retries. Redirects are not followed.
 */
export function makeSendWebhook({ db, http, box, config }: ActivityDeps) {
  return async function sendWebhook(input: SendIn): Promise<SendOut> {
    const [endpoint, body] = await Promise.all([
      getEndpoint(db, input.tenantId, input.endpointId).catch((err) => {
        if (err instanceof NotFoundError) return null;
        throw err;
      }),
      getEventBody(db, input.eventId),
    ]);
    const started = new Date();
    if (!endpoint?.is_active) {
      // Deactivated or deleted while this delivery was in flight: stop without sending.
      return {
        outcome: 'failed',
        startedAt: started.toISOString(),
        durationMs: 0,
        responseStatus: null,
        errorClass: endpoint ? 'endpoint_disabled' : 'endpoint_deleted',
        errorMessage: endpoint ? 'the endpoint was deactivated' : 'the endpoint was deleted',
        responseExcerpt: null,
        retryAfterMs: null,
      };
    }
    const headers = { ...openHeaders(box, endpoint.id, endpoint.headers), ...input.headers };
    const t0 = performance.now();
    const elapsed = () => Math.round(performance.now() - t0);
    try {
      const res = await request(endpoint.url, {
        method: 'POST',
        headers,
        body,
        dispatcher: http,
        signal: AbortSignal.timeout(input.timeoutMs),
        headersTimeout: input.timeoutMs,
        bodyTimeout: input.timeoutMs,
      });
      const excerpt = await readExcerpt(res.body as unknown as Readable, config.RESPONSE_EXCERPT_BYTES);
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
      return {
        outcome: 'retryable',
        startedAt: started.toISOString(),
        durationMs: elapsed(),
        responseStatus: null,
        errorClass: networkErrorClass(err),
        errorMessage: (err instanceof Error ? err.message : String(err)).slice(0, MAX_ERROR_MESSAGE),
        responseExcerpt: null,
        retryAfterMs: null,
      };
    }
  };
}
