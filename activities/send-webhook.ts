import { getEndpoint } from '../src/db/endpoints-repo';
import { eventBodyOf } from './event-bodies';
import { NotFoundError } from '../src/errors';
import { postWebhook } from '../src/http/post-webhook';
import { bodyDigest, bodyOrRenderError, TemplateRenderError } from '../src/integrations/render';
import { openClientCertificate } from '../src/security/client-tls';
import { openHeaders } from '../src/security/endpoint-headers';
import { openUrl } from '../src/security/endpoint-url';
import { redactAttempt, sensitiveValues } from '../src/security/redact';
import type { ActivityDeps } from './deps';
import type { AttemptOutcome, AttemptResult } from '../src/domain/delivery';
import type { SendIn } from './types';

/** An attempt that stopped before sending anything. */
function notSent(outcome: AttemptOutcome, errorClass: string, errorMessage: string): AttemptResult {
  return {
    outcome,
    startedAt: new Date().toISOString(),
    durationMs: 0,
    responseStatus: null,
    errorClass,
    errorMessage,
    responseExcerpt: null,
    retryAfterMs: null,
  };
}

/**
 * Sends one attempt. The receiver's answer (or its absence) is returned, classified, never thrown:
 * the workflow decides about retries. Custom header values and a sealed URL are opened here, so
 * they never enter history, and taken out of the error message and the response excerpt. The body is the one `signRequest` signed: the stored event body, or the
 * endpoint's template rendered over it.
 */
export function makeSendWebhook({ db, outbound, egress, box, config }: ActivityDeps) {
  return async function sendWebhook(input: SendIn): Promise<AttemptResult> {
    const [endpoint, stored] = await Promise.all([
      getEndpoint(db, input.tenantId, input.endpointId).catch((err) => {
        if (err instanceof NotFoundError) return null;
        throw err;
      }),
      eventBodyOf(db, input.tenantId, input.eventId),
    ]);
    if (!endpoint?.is_active) {
      // Deactivated or deleted while this delivery was in flight: stop without sending.
      return notSent(
        'failed',
        endpoint ? 'endpoint_disabled' : 'endpoint_deleted',
        endpoint ? 'the endpoint was deactivated' : 'the endpoint was deleted',
      );
    }
    const body = bodyOrRenderError(stored, endpoint.template, config.MAX_BODY_BYTES);
    // The same event and template render the same way every time: retrying cannot help.
    if (body instanceof TemplateRenderError) return notSent('failed', body.code, body.message);
    if (input.bodyDigest !== undefined && bodyDigest(body) !== input.bodyDigest) {
      // The template changed between signing and sending: the signature would not match.
      return notSent('retryable', 'body_changed', 'the endpoint template changed after this attempt was signed');
    }
    if (Object.keys(input.headers).length === 0) {
      // signRequest could not render the body, yet it renders now: the template changed in
      // between. Never send unsigned; the next attempt signs the new rendering.
      return notSent('retryable', 'not_signed', 'the endpoint template changed while this attempt was signed');
    }
    // Secrets are opened here, for this request only, and kept out of what it reports.
    const url = openUrl(box, endpoint.id, endpoint);
    const custom = openHeaders(box, endpoint.id, endpoint.headers);
    const result = await postWebhook({
      http: outbound.forEndpoint(endpoint.id, { sealedClient: endpoint.client_tls_sealed, ca: endpoint.ca_bundle }, (sealed) => openClientCertificate(box, endpoint.id, sealed)),
      proxied: outbound.proxied,
      egress,
      url,
      headers: { ...custom, ...input.headers },
      body,
      timeoutMs: input.timeoutMs,
      excerptBytes: config.RESPONSE_EXCERPT_BYTES,
    });
    return redactAttempt(result, { url, shownUrl: endpoint.url, values: sensitiveValues(endpoint.headers, custom) });
  };
}
