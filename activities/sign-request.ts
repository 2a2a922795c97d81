import { ApplicationFailure } from '@temporalio/activity';
import type { KeyScope } from '../src/domain/keys';
import { signatureSchemeOf } from '../src/domain/signature-schemes';
import { endpointSigningSettings } from '../src/db/endpoints-repo';
import { RATE_SLOT_MAX_AHEAD_MS, reserveSendSlot } from '../src/db/send-slots-repo';
import { activeUsageThreshold } from '../src/db/key-policies-repo';
import { incrementKeyUsage, loadValidKeys } from '../src/db/signing-keys-repo';
import { webhookHeaders } from '../src/http/webhook-request';
import { bodyDigest, bodyOrRenderError, TemplateRenderError } from '../src/integrations/render';
import type { ActivityDeps } from './deps';
import { eventBodyOf } from './event-bodies';
import { rotateOnUsage } from './key-usage';
import type { SignIn, SignOut } from './types';

/** A slot this close is taken at once: a durable timer would cost more than it saves. */
const MIN_WAIT_MS = 50;
/** Deliveries waiting without a slot ask again spread over this much time. */
const UNRESERVED_JITTER_MS = RATE_SLOT_MAX_AHEAD_MS / 4;

/**
 * Signs one attempt under the endpoint's scheme with a fresh timestamp (and nonce), one signature
 * per valid key, over the bytes the endpoint receives (its template rendered, if it has one).
 * Loads the secrets and body here, so neither enters workflow history; only the resulting headers
 * do. Under a rate limit it first reserves the attempt's send slot, and answers `waitMs` instead
 * of headers when that slot is ahead. A body that cannot be rendered is not signed: empty headers,
 * and `sendWebhook` records why.
 */
export function makeSignRequest({ db, box, log, config }: ActivityDeps) {
  return async function signRequest(input: SignIn): Promise<SignOut> {
    const scope: KeyScope = { type: 'endpoint', id: input.endpointId };
    const [slot, stored, keys, settings, usage] = await Promise.all([
      input.slotReserved ? null : reserveSendSlot(db, input.tenantId, input.endpointId),
      eventBodyOf(db, input.tenantId, input.eventId),
      loadValidKeys(db, box, scope, input.tenantId),
      endpointSigningSettings(db, input.tenantId, input.endpointId),
      activeUsageThreshold(db, input.tenantId, scope),
    ]);
    if (slot && !slot.reserved) {
      // The backlog runs past the reservation cap: wait without a slot, then ask again. The jitter
      // keeps many such deliveries from asking at the same moment.
      return { headers: {}, keyIds: [], waitMs: slot.waitMs - RATE_SLOT_MAX_AHEAD_MS + Math.round(Math.random() * UNRESERVED_JITTER_MS) + MIN_WAIT_MS, unreserved: true };
    }
    if (slot && slot.waitMs >= MIN_WAIT_MS) return { headers: {}, keyIds: [], waitMs: slot.waitMs, slotMicros: slot.slotMicros };
    if (keys.length === 0) {
      throw ApplicationFailure.nonRetryable(`endpoint ${input.endpointId} has no signing key`, 'NoSigningKey');
    }
    const body = bodyOrRenderError(stored, settings?.template ?? null, config.MAX_BODY_BYTES);
    if (body instanceof TemplateRenderError) return { headers: {}, keyIds: [] };
    const scheme = settings?.scheme;
    const keyIds = keys.map((k) => k.id);
    const counts = await incrementKeyUsage(db, keyIds);
    await rotateOnUsage(log, { tenantId: input.tenantId, scope, keyIds, activeUsage: counts.get(keyIds[0]!) ?? null, usage });
    return {
      keyIds,
      // A rendered body is computed again when sent: the digest proves it is the same bytes.
      ...(settings?.template ? { bodyDigest: bodyDigest(body) } : {}),
      // The legacy send step adds the endpoint's custom headers itself.
      headers: webhookHeaders({
        deliveryId: input.deliveryId,
        eventId: input.eventId,
        eventType: input.eventType,
        attempt: input.attempt,
        body,
        scheme: signatureSchemeOf(scheme),
        keys,
        customHeaders: {},
      }),
    };
  };
}
