import type { Caller } from '../domain/caller';
import { getEndpoint } from '../db/endpoints-repo';
import { loadValidKeys } from '../db/signing-keys-repo';
import { AppError } from '../errors';
import { postWebhook, USER_AGENT } from '../http/post-webhook';
import { newId } from '../ids';
import type { EndpointTemplate } from '../domain/endpoint';
import { bodyOrRenderError, TemplateRenderError } from '../integrations/render';
import { egressAgent, egressPolicy } from '../security/egress';
import { openHeaders } from '../security/endpoint-headers';
import { openUrl } from '../security/endpoint-url';
import { redactAttempt, sensitiveValues } from '../security/redact';
import { signatureSchemeOf } from '../domain/signature-schemes';
import { signatureHeaders } from '../security/schemes';
import type { AppDeps } from './deps';
import { eventBody } from './ingest';

/** The test event's body as the endpoint receives it (its template rendered); too large → 422. */
function testBody(envelope: string, template: EndpointTemplate | null, maxBytes: number): string {
  const body = bodyOrRenderError(envelope, template, maxBytes);
  if (body instanceof TemplateRenderError) throw new AppError(422, body.code, `the endpoint template: ${body.message}`);
  return body;
}

/**
 * Sends one signed request to an endpoint now, outside any workflow, exactly as a delivery attempt
 * would be (same body envelope, rendered through the endpoint's template if it has one, same
 * headers and signature), and reports what happened. Nothing is stored; the request carries
 * `x-webhook-test: true`.
 */
export async function testDelivery(
  { db, box, config }: Pick<AppDeps, 'db' | 'box' | 'config'>,
  caller: Caller,
  endpointId: string,
  input: { event: string; payload: Record<string, unknown> | unknown[] },
) {
  const endpoint = await getEndpoint(db, caller.tenantId, endpointId);
  const keys = await loadValidKeys(db, box, { type: 'endpoint', id: endpoint.id }, caller.tenantId);
  if (keys.length === 0) throw new AppError(409, 'no_signing_key', `endpoint ${endpointId} has no valid signing key`);
  const eventId = newId('evt');
  const deliveryId = newId('dlv');
  const body = testBody(eventBody(eventId, { type: input.event, payload: input.payload }, new Date()), endpoint.template, config.MAX_BODY_BYTES);
  const scheme = signatureSchemeOf(endpoint.scheme);
  const serviceHeaders = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'x-delivery-id': deliveryId,
    'x-event-id': eventId,
    'x-event-type': input.event,
    'x-attempt': '1',
    'x-webhook-test': 'true',
    ...signatureHeaders(scheme, keys, { messageId: deliveryId, body, now: new Date() }),
  };
  const custom = openHeaders(box, endpoint.id, endpoint.headers);
  const timeoutMs = endpoint.retry_config?.timeout_ms ?? config.DELIVERY_TIMEOUT_MS;
  const egress = egressPolicy(config);
  const http = egressAgent(egress, { connectTimeoutMs: timeoutMs });
  const url = openUrl(box, endpoint.id, endpoint);
  const sent = await postWebhook({
    http,
    egress,
    url,
    headers: { ...custom, ...serviceHeaders },
    body,
    timeoutMs,
    excerptBytes: config.RESPONSE_EXCERPT_BYTES,
  }).finally(() => http.close());
  const result = redactAttempt(sent, { url, shownUrl: endpoint.url, values: sensitiveValues(endpoint.headers, custom) });
  const masked = Object.fromEntries(Object.entries(endpoint.headers).map(([name, h]) => [name, h.sensitive ? '[sensitive]' : (h.value ?? '')]));
  return {
    status: result.outcome === 'succeeded' ? 'succeeded' : 'failed',
    response_code: result.responseStatus,
    response_time: result.durationMs,
    response_body: result.responseExcerpt,
    error_class: result.errorClass,
    error_message: result.errorMessage,
    headers_sent: { ...masked, ...serviceHeaders },
    body_sent: body,
  };
}
