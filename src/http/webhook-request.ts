import type { SignatureScheme } from '../domain/signature-schemes';
import { signatureHeaders, type SignKey } from '../security/schemes';

/** The User-Agent of every outbound request. */
export const USER_AGENT = 'temporal-webhooks/0.1';

export interface WebhookRequestIn {
  deliveryId: string;
  eventId: string;
  eventType: string;
  attempt: number;
  /** The exact bytes sent: the event body, or the endpoint's template rendered over it. */
  body: string;
  scheme: SignatureScheme;
  /** Valid keys, active first: one signature each. Held in memory only while the request is built. */
  keys: readonly SignKey[];
  /** The endpoint's custom headers, opened; the service's own headers win over them. */
  customHeaders: Record<string, string>;
  /** A request sent by `POST /endpoints/:id/test`, outside any delivery. */
  test?: boolean;
  /** A FIFO delivery's place in its endpoint's line. */
  sequence?: number;
}

/**
 * The headers of one request: the endpoint's custom headers, the delivery metadata and the
 * signature, taken now (so the timestamp is that of the request leaving, not of a queue wait).
 * Every delivery attempt and every test request is built here.
 */
export function webhookHeaders(input: WebhookRequestIn, now = new Date()): Record<string, string> {
  return {
    ...input.customHeaders,
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'x-delivery-id': input.deliveryId,
    'x-event-id': input.eventId,
    'x-event-type': input.eventType,
    'x-attempt': String(input.attempt),
    ...(input.test ? { 'x-webhook-test': 'true' } : {}),
    ...(input.sequence === undefined ? {} : { 'x-webhook-sequence': String(input.sequence) }),
    ...signatureHeaders(input.scheme, input.keys, { messageId: input.deliveryId, body: input.body, now }),
  };
}
