import { getEndpoint } from '../src/db/endpoints-repo';
import { getEventBody } from '../src/db/events-repo';
import { NotFoundError } from '../src/errors';
import { postWebhook } from '../src/http/post-webhook';
import { openHeaders } from '../src/security/endpoint-headers';
import type { ActivityDeps } from './deps';
import type { SendIn, SendOut } from './types';

/**
 * Sends one attempt. The receiver's answer (or its absence) is returned, classified, never thrown:
 * the workflow decides about retries. Custom header values are opened here, so sensitive ones
 * never enter history.
 */
export function makeSendWebhook({ db, http, egress, box, config }: ActivityDeps) {
  return async function sendWebhook(input: SendIn): Promise<SendOut> {
    const [endpoint, body] = await Promise.all([
      getEndpoint(db, input.tenantId, input.endpointId).catch((err) => {
        if (err instanceof NotFoundError) return null;
        throw err;
      }),
      getEventBody(db, input.eventId),
    ]);
    if (!endpoint?.is_active) {
      // Deactivated or deleted while this delivery was in flight: stop without sending.
      return {
        outcome: 'failed',
        startedAt: new Date().toISOString(),
        durationMs: 0,
        responseStatus: null,
        errorClass: endpoint ? 'endpoint_disabled' : 'endpoint_deleted',
        errorMessage: endpoint ? 'the endpoint was deactivated' : 'the endpoint was deleted',
        responseExcerpt: null,
        retryAfterMs: null,
      };
    }
    return postWebhook({
      http,
      egress,
      url: endpoint.url,
      headers: { ...openHeaders(box, endpoint.id, endpoint.headers), ...input.headers },
      body,
      timeoutMs: input.timeoutMs,
      excerptBytes: config.RESPONSE_EXCERPT_BYTES,
    });
  };
}
