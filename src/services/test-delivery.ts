import type { Caller } from '../domain/caller';
import { getEndpoint } from '../db/endpoints-repo';
import { loadValidKeys } from '../db/signing-keys-repo';
import { AppError } from '../errors';
import { outboundDispatcher } from '../http/dispatchers';
import { postWebhook } from '../http/post-webhook';
import { webhookHeaders } from '../http/webhook-request';
import { newId } from '../ids';
import type { EndpointTemplate } from '../domain/endpoint';
import { bodyOrRenderError, TemplateRenderError } from '../integrations/render';
import { openClientCertificate } from '../security/client-tls';
import { egressPolicy } from '../security/egress';
import { openHeaders } from '../security/endpoint-headers';
import { openUrl } from '../security/endpoint-url';
import { redactAttempt, sensitiveValues } from '../security/redact';
import { signatureSchemeOf } from '../domain/signature-schemes';
import type { AppDeps } from './deps';
import { eventBody, ingestEvent } from './ingest';

/** The test event's body as the endpoint receives it (its template rendered); too large → 422. */
function testBody(envelope: string, template: EndpointTemplate | null, maxBytes: number): string {
  const body = bodyOrRenderError(envelope, template, maxBytes);
  if (body instanceof TemplateRenderError) throw new AppError(422, body.code, `the endpoint template: ${body.message}`);
  return body;
}

/**
 * Sends one signed request to an active endpoint now, outside any workflow, exactly as a delivery attempt
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
  // Like a redelivery: an endpoint that receives nothing new receives no test either.
  if (!endpoint.is_active) {
    const why = endpoint.disabled_reason ? ` (disabled by the service: ${endpoint.disabled_reason})` : '';
    throw new AppError(409, 'endpoint_inactive', `endpoint ${endpointId} is inactive${why}; activate it first`);
  }
  const keys = await loadValidKeys(db, box, { type: 'endpoint', id: endpoint.id }, caller.tenantId);
  if (keys.length === 0) throw new AppError(409, 'no_signing_key', `endpoint ${endpointId} has no valid signing key`);
  const eventId = newId('evt');
  const deliveryId = newId('dlv');
  const body = testBody(eventBody(eventId, { type: input.event, payload: input.payload }, new Date()), endpoint.template, config.MAX_BODY_BYTES);
  const custom = openHeaders(box, endpoint.id, endpoint.headers);
  const headers = webhookHeaders({
    deliveryId,
    eventId,
    eventType: input.event,
    attempt: 1,
    body,
    scheme: signatureSchemeOf(endpoint.scheme),
    keys,
    customHeaders: custom,
    test: true,
  });
  const timeoutMs = endpoint.retry_config?.timeout_ms ?? config.DELIVERY_TIMEOUT_MS;
  const egress = egressPolicy(config);
  const client = endpoint.client_tls_sealed ? openClientCertificate(box, endpoint.id, endpoint.client_tls_sealed) : null;
  const http = outboundDispatcher({ egress, connectTimeoutMs: timeoutMs, proxyUrl: config.EGRESS_PROXY_URL }, { client, ca: endpoint.ca_bundle });
  const url = openUrl(box, endpoint.id, endpoint);
  const sent = await postWebhook({
    http,
    proxied: config.EGRESS_PROXY_URL !== undefined,
    egress,
    url,
    headers,
    body,
    timeoutMs,
    excerptBytes: config.RESPONSE_EXCERPT_BYTES,
  }).finally(() => http.close());
  const result = redactAttempt(sent, { url, shownUrl: endpoint.url, values: sensitiveValues(endpoint.headers, custom) });
  // Sensitive values are never shown; the service's own headers cannot share their names.
  const masked = Object.fromEntries(Object.entries(endpoint.headers).filter(([, h]) => h.sensitive).map(([name]) => [name, '[sensitive]']));
  return {
    status: result.outcome === 'succeeded' ? 'succeeded' : 'failed',
    response_code: result.responseStatus,
    response_time: result.durationMs,
    response_body: result.responseExcerpt,
    error_class: result.errorClass,
    error_message: result.errorMessage,
    headers_sent: { ...headers, ...masked },
    body_sent: body,
  };
}

/**
 * Sends a test event to one active endpoint through the real pipeline: a stored event and one
 * delivery workflow (signed, retried, in the delivery log and the live stream), whatever the
 * endpoint's subscriptions and filters.
 */
export async function sendTestEvent(deps: AppDeps, caller: Caller, endpointId: string, input: { event: string; payload: Record<string, unknown> | unknown[] }) {
  const endpoint = await getEndpoint(deps.db, caller.tenantId, endpointId);
  if (!endpoint.is_active) throw new AppError(409, 'endpoint_inactive', `endpoint ${endpointId} is inactive; activate it first`);
  const out = await ingestEvent(deps, caller.tenantId, { type: input.event, payload: input.payload }, endpoint);
  return { event_id: out.event_id, delivery_id: out.deliveries[0]?.id ?? null, endpoint_id: endpointId };
}
