import { createHash } from 'node:crypto';
import { z } from 'zod';
import { eventIn } from '../api/schemas';
import type { SourceRecord } from '../db/inbound-repo';
import type { AppDeps } from '../services/deps';
import { ingestEvent } from '../services/ingest';
import { GuardError } from './guard-errors';

/** What a handler knows about a request the guard accepted. */
export interface InboundContext {
  deps: AppDeps;
  source: SourceRecord;
  keyId: string;
  ts: number;
  nonce: string;
  skewSeconds: number;
  rawBody: Buffer;
  traceId: string;
}

/**
 * A domain handler: `parse` checks its input before the nonce is spent; `run` must be
 * deterministic and idempotent (the guard never runs it twice for one nonce, and a handler that
 * starts work keys it by the nonce).
 */
export interface InboundHandler<I = unknown> {
  description: string;
  parse(body: unknown): I;
  run(ctx: InboundContext, input: I): Promise<unknown>;
}

const relayIn = eventIn.omit({ idempotency_key: true });

const relay: InboundHandler<z.infer<typeof relayIn>> = {
  description: 'The verified body {type, payload, lang?} becomes an outbound event through the normal ingest path.',
  parse(body) {
    const parsed = relayIn.safeParse(body);
    if (!parsed.success) {
      throw new GuardError('invalid_handler_input', 'relay expects {type, payload, lang?}', parsed.error.issues.map((i) => ({ path: ['body', ...i.path].join('.'), message: i.message })));
    }
    return parsed.data;
  },
  async run(ctx, input) {
    const out = await ingestEvent(ctx.deps, ctx.source.tenant_id, { ...input, idempotency_key: `inbound:${ctx.source.id}:${ctx.nonce}` });
    return { event_id: out.event_id, deliveries: out.deliveries };
  },
};

const echo: InboundHandler<unknown> = {
  description: 'Answers a normalized view of what was verified, for partners testing their integration.',
  parse: (body) => body,
  async run(ctx, body) {
    return {
      source_id: ctx.source.id,
      key_id: ctx.keyId,
      ts: ctx.ts,
      nonce: ctx.nonce,
      skew_seconds: ctx.skewSeconds,
      body_bytes: ctx.rawBody.length,
      body_sha256: createHash('sha256').update(ctx.rawBody).digest('hex'),
      body,
    };
  },
};

/** The registry of handlers reachable under `/webhook/guards/:handler`. */
export const INBOUND_HANDLERS: Readonly<Record<string, InboundHandler<any>>> = { relay, echo };
export const HANDLER_NAMES = Object.keys(INBOUND_HANDLERS) as [string, ...string[]];
