import type { AttemptDeliveryState, AttemptResult } from '../src/domain/delivery';
import { displayTarget } from '../src/domain/endpoint';
import { DEFAULT_JITTER, type RetryConfig } from '../src/domain/retry-config';
import { signatureSchemeOf } from '../src/domain/signature-schemes';
import { loadAttemptContext, sealedAttemptOf, type AttemptContext, type RecordedAttempt } from '../src/db/attempt-context-repo';
import { RATE_SLOT_MAX_AHEAD_MS, reserveSendSlot } from '../src/db/send-slots-repo';
import { openKey } from '../src/db/signing-keys-repo';
import { attemptSummary } from '../src/http/attempt-summary';
import { postWebhook } from '../src/http/post-webhook';
import { webhookHeaders } from '../src/http/webhook-request';
import { bodyOrRenderError, TemplateRenderError } from '../src/integrations/render';
import { openClientCertificate } from '../src/security/client-tls';
import { openHeaders } from '../src/security/endpoint-headers';
import { openUrl } from '../src/security/endpoint-url';
import { redactAttempt, sensitiveValues } from '../src/security/redact';
import { nextDelayMs, retryDelaysMs, withJitter } from '../workflows/retry-policy';
import { circuitGate } from './circuit-gate';
import type { ActivityDeps } from './deps';
import { reachedReceiver } from './endpoint-health';
import { cachedEventBody, rememberEventBody } from './event-bodies';
import { takeHandoff } from './handed-attempts';
import { rotateOnUsage } from './key-usage';
import { storeAttemptAndEffects } from './stored-attempt';
import type { AttemptStep, DeliverAttemptIn } from './types';

/** A rate-limit slot this close is taken at once: a durable timer would cost more than it saves. */
const MIN_WAIT_MS = 50;
/** Deliveries waiting without a slot (the backlog past the cap) ask again spread over this much time. */
const UNRESERVED_JITTER_MS = RATE_SLOT_MAX_AHEAD_MS / 4;

/** An attempt that stopped before sending anything. */
function notSent(outcome: AttemptResult['outcome'], errorClass: string, errorMessage: string): AttemptResult {
  return { outcome, startedAt: new Date().toISOString(), durationMs: 0, responseStatus: null, errorClass, errorMessage, responseExcerpt: null, retryAfterMs: null };
}

/** The delivery's state after this attempt, and how long to wait before the next one. */
function verdict(input: DeliverAttemptIn, result: AttemptResult, retry: RetryConfig | null, retryAfterMaxMs: number): { deliveryStatus: AttemptDeliveryState; retryInMs: number | null } {
  if (result.outcome === 'succeeded') return { deliveryStatus: 'succeeded', retryInMs: null };
  const scheduled = retryDelaysMs(retry)[input.attempt - (input.firstAttempt ?? 1)];
  if (result.outcome === 'failed' || scheduled === undefined) return { deliveryStatus: 'failed', retryInMs: null };
  // Math.random in an activity: the delay is recorded with the step's result, so replay reads it back.
  const delay = nextDelayMs(withJitter(scheduled, retry?.jitter ?? DEFAULT_JITTER, Math.random), result.retryAfterMs, retryAfterMaxMs);
  return { deliveryStatus: 'retrying', retryInMs: delay };
}

/**
 * One delivery attempt in one step: prepare (the endpoint, its keys and the body, read in one
 * statement; the body from this worker's cache when it has it; a first attempt the workflow knows
 * is fresh takes what ingest read and handed over instead, see `holdHandoff`), wait for a rate-limit slot if
 * the endpoint has a limit (or for its circuit's probe when the circuit is open), render, sign
 * (the timestamp taken as the request leaves), send, and record the attempt with its effects on
 * the endpoint's health and the keys' usage in one more statement (its circuit and operational
 * events only when the attempt changes them). Secrets are opened here and never leave: the step returns the attempt's result
 * only, which the workflow's history keeps as this attempt's record.
 *
 * With `storedOnly` (a delivery cancelled before this step could run) nothing is sent: the step
 * answers the attempt an earlier run of it stored, or `unsent`.
 *
 * A failure to prepare throws (the step is retried); anything after the request left is
 * answered, never thrown, so a database hiccup cannot send an attempt twice: an attempt that
 * could not be recorded says so, and the workflow records it in a step of its own.
 */
export function makeDeliverAttempt(deps: ActivityDeps) {
  const { db, box, outbound, egress, config, log } = deps;

  return async function deliverAttempt(input: DeliverAttemptIn): Promise<AttemptStep> {
    const heldBody = cachedEventBody(input.tenantId, input.eventId);
    // What ingest read for this delivery's first attempt is taken by its first step, whatever the
    // step does, and used only by a step the workflow knows has not run before: one run again
    // reads the database, where an earlier run may have stored the attempt.
    const handed = input.attempt === (input.firstAttempt ?? 1) ? takeHandoff(input) : undefined;
    const context =
      handed !== undefined && input.fresh === true && !input.storedOnly && heldBody !== undefined
        ? sealedAttemptOf(input.endpointId, handed)
        : // A stored-only answer needs no body.
          await loadAttemptContext(db, input.tenantId, input.endpointId, { id: input.eventId, withBody: !input.storedOnly && heldBody === undefined }, input);
    if (input.storedOnly && !context?.recorded) return { kind: 'unsent' };
    if (context?.recorded) {
      // This step ran before and sent and stored this attempt, but its result never reached
      // history: Temporal refused the workflow task that carried it (a cancel or signal came in
      // while it ran, and the task also closed the workflow), or the worker stopped before
      // completing the task. The attempt is answered from its row, not sent again.
      log.info({ deliveryId: input.deliveryId, attempt: input.attempt }, 'attempt already sent and stored; answering it from its row');
      return storedStep(input, context, context.recorded);
    }
    const endpoint = context?.endpoint;
    const usable = endpoint !== undefined && !endpoint.deleted && endpoint.isActive;
    if (!usable && input.attempt === (input.firstAttempt ?? 1)) {
      // Switched off before this run sent anything: nothing to report about the receiver.
      return { kind: 'stopped', reason: !endpoint || endpoint.deleted ? 'endpoint deleted' : 'endpoint inactive' };
    }
    if (!context) {
      // Gone altogether (its tenant removed) while the delivery waited: no row left to record against.
      const result = notSent('failed', 'endpoint_deleted', 'the endpoint was deleted');
      return { kind: 'attempted', attempt: input.attempt, result, deliveryStatus: 'failed', retryInMs: null, recorded: true };
    }
    if (usable && context.endpoint.circuitState !== 'closed') {
      // An open circuit: wait for the probe, or be it. Checked before a rate-limit slot is taken.
      const wait = await circuitGate(deps, input, context.endpoint);
      if (wait) return wait;
    }
    if (usable && context.endpoint.rateLimit !== null && !input.slotReserved) {
      const slot = await reserveSendSlot(db, input.tenantId, input.endpointId);
      if (slot && !slot.reserved) {
        // The backlog runs past the reservation cap: wait without a slot, then ask again, spread out.
        return { kind: 'wait', waitMs: slot.waitMs - RATE_SLOT_MAX_AHEAD_MS + Math.round(Math.random() * UNRESERVED_JITTER_MS) + MIN_WAIT_MS, unreserved: true };
      }
      if (slot && slot.waitMs >= MIN_WAIT_MS) return { kind: 'wait', waitMs: slot.waitMs, slotMicros: slot.slotMicros };
    }

    const body = heldBody ?? context.body;
    if (body === null) throw new Error(`event ${input.eventId} not found`);
    if (heldBody === undefined) rememberEventBody(input.tenantId, input.eventId, body);

    const scope = { type: 'endpoint' as const, id: input.endpointId };
    const keys = context.sealedKeys.map((row) => openKey(box, scope, row));
    const result = await send(input, context, body, keys);
    const signedBy = reachedReceiver(result) ? keys.map((k) => k.id) : [];
    const { deliveryStatus, retryInMs } = verdict(input, result, context.endpoint.retryConfig, config.RETRY_AFTER_MAX_MS);

    let recorded = true;
    try {
      // The active key's count is read only when a usage threshold will compare it.
      await storeAttemptAndEffects(deps, input, { result, deliveryStatus, keyIds: signedBy, readActiveUsage: context.usageThreshold !== null }, (stored) =>
        rotateOnUsage(log, { tenantId: input.tenantId, scope, keyIds: signedBy, activeUsage: stored.activeKeyUsage, usage: context.usageThreshold }),
      );
    } catch (err) {
      log.warn({ err, deliveryId: input.deliveryId, attempt: input.attempt }, 'could not record the attempt; the workflow records it');
      recorded = false;
    }
    const line = { deliveryId: input.deliveryId, endpointId: input.endpointId, attempt: input.attempt, outcome: result.outcome, status: result.responseStatus, durationMs: result.durationMs, errorClass: result.errorClass };
    if (result.outcome === 'succeeded') log.debug(line, 'delivery attempt');
    else log.info(line, 'delivery attempt');
    return attemptedStep(input, context, result, { deliveryStatus, retryInMs }, recorded);
  };

  /** The step's answer for an attempt an earlier run of the step sent and stored. */
  function storedStep(input: DeliverAttemptIn, context: AttemptContext, recorded: RecordedAttempt): AttemptStep {
    // The delivery's state after it is taken again from the answer, as the first run took it.
    const result: AttemptResult = { ...recorded, startedAt: new Date(recorded.startedAt).toISOString(), retryAfterMs: null };
    return attemptedStep(input, context, result, verdict(input, result, context.endpoint.retryConfig, config.RETRY_AFTER_MAX_MS), true);
  }

  /** An attempt made (now or by an earlier run of the step), as the step answers it: with what the Web UI shows of it. */
  function attemptedStep(input: DeliverAttemptIn, context: AttemptContext, result: AttemptResult, after: ReturnType<typeof verdict>, recorded: boolean): AttemptStep {
    const target = displayTarget(context.endpoint.url);
    return { kind: 'attempted', attempt: input.attempt, result, ...after, recorded, summary: attemptSummary(target, result), target };
  }

  /** Renders, signs and sends the attempt; an attempt that cannot be sent says why instead. */
  async function send(input: DeliverAttemptIn, context: AttemptContext, eventBody: string, keys: ReturnType<typeof openKey>[]): Promise<AttemptResult> {
    const { endpoint } = context;
    if (endpoint.deleted) return notSent('failed', 'endpoint_deleted', 'the endpoint was deleted');
    if (!endpoint.isActive) return notSent('failed', 'endpoint_disabled', 'the endpoint was deactivated');
    if (keys.length === 0) return notSent('failed', 'no_signing_key', 'the endpoint has no valid signing key');
    const body = bodyOrRenderError(eventBody, endpoint.template, config.MAX_BODY_BYTES);
    // The same event and template render the same way every time: retrying cannot help.
    if (body instanceof TemplateRenderError) return notSent('failed', body.code, body.message);
    const custom = openHeaders(box, endpoint.id, endpoint.headers);
    const headers = webhookHeaders({
      deliveryId: input.deliveryId,
      eventId: input.eventId,
      eventType: input.eventType,
      attempt: input.attempt,
      body,
      scheme: signatureSchemeOf(endpoint.scheme),
      keys,
      customHeaders: custom,
      sequence: input.sequence,
    });
    const timeoutMs = endpoint.retryConfig?.timeout_ms ?? config.DELIVERY_TIMEOUT_MS;
    // The real URL is opened here only; neither it nor a sensitive header value may come back in
    // an error message or a receiver's answer (the step's result enters history and the log).
    const url = openUrl(box, endpoint.id, endpoint);
    const http = outbound.forEndpoint(endpoint.id, { sealedClient: endpoint.clientTlsSealed, ca: endpoint.caBundle }, (sealed) => openClientCertificate(box, endpoint.id, sealed));
    const result = await postWebhook({ http, proxied: outbound.proxied, egress, url, headers, body, timeoutMs, excerptBytes: config.RESPONSE_EXCERPT_BYTES });
    return redactAttempt(result, { url, shownUrl: endpoint.url, values: sensitiveValues(endpoint.headers, custom) });
  }
}
