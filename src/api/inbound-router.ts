import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { forgetNonce, recordNonce } from '../db/inbound-repo';
import { recordTelemetry } from '../db/telemetry-repo';
import { AppError, RETRY_AFTER_SECONDS, UnavailableError } from '../errors';
import { textProblem } from './json-input';
import { verifyInbound, type GuardContext } from '../inbound/guard';
import { GuardError, GUARD_ERRORS, type GuardErrorCode } from '../inbound/guard-errors';
import { INBOUND_HANDLERS } from '../inbound/handlers';
import { RecentRejections } from '../inbound/recent-rejections';
import { riskScore } from '../inbound/risk';
import type { AppDeps } from '../services/deps';
import { dependencyDown } from './middleware';

const PARSER_CODES: Record<string, GuardErrorCode> = {
  'entity.too.large': 'payload_too_large',
  'entity.parse.failed': 'invalid_json',
  // The signature covers the bytes as sent: a compressed body is refused, never inflated.
  'encoding.unsupported': 'unsupported_media_type',
};

/** Maps anything thrown on the inbound path to a result code and status. */
function classify(err: unknown): { code: string; status: number; msg: string; details?: unknown } {
  const down = err instanceof AppError && !(err instanceof UnavailableError) ? null : dependencyDown(err);
  if (down) return { code: down.code, status: down.status, msg: down.message };
  if (err instanceof AppError) return { code: err.code, status: err.status, msg: err.message, details: err.details };
  const parserCode = PARSER_CODES[(err as { type?: string })?.type ?? ''];
  if (parserCode === 'unsupported_media_type') return { code: parserCode, status: 415, msg: 'Content-Encoding is not supported: send the body as it was signed, uncompressed' };
  if (parserCode) return { code: parserCode, status: GUARD_ERRORS[parserCode], msg: parserCode.replace(/_/g, ' ') };
  const status = (err as { status?: unknown })?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) return { code: 'bad_request', status, msg: (err as Error).message || 'bad request' };
  return { code: 'internal_error', status: 500, msg: 'internal error' };
}

/** A charset other than UTF-8 declared for the body (JSON is UTF-8, RFC 8259). */
const foreignCharset = (type: string | undefined) => {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(type ?? '')?.[1]?.toLowerCase();
  return charset !== undefined && charset !== 'utf-8' && charset !== 'utf8';
};

/** A path or header value as telemetry keeps it: short, and only text Postgres stores. */
const recordable = (value: string | undefined) => (value === undefined || textProblem(value) ? null : value.slice(0, 128));

/**
 * `POST /webhook/in` (the source's default handler) and `POST /webhook/guards/:handler`: the
 * replay-proof guard, then a domain handler. A request whose source the guard resolved leaves one
 * telemetry record under that source's tenant (found by the `trace_id` the response carries;
 * rejected ones at most REJECTED_ROWS_PER_SOURCE_MINUTE a minute per source); one whose source is
 * unknown or unreadable leaves no row at all, only a count in the metrics, so an unauthenticated
 * flood writes nothing. The risk score reads a window kept in memory.
 */
export function inboundRouter(deps: AppDeps): Router {
  const router = Router();
  const recent = new RecentRejections();
  const raw = express.raw({ type: () => true, limit: deps.config.MAX_BODY_BYTES, inflate: false });

  const handle = async (req: Request, res: Response, rawError?: unknown) => {
    const traceId = String(req.id);
    const requested = typeof req.params.handler === 'string' ? req.params.handler : undefined;
    const remoteAddr = req.socket.remoteAddress ?? 'unknown';
    const context: GuardContext = { source: null, skewSeconds: null, unknownKeyId: false };
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let outcome: { code: string; status: number; msg: string; details?: unknown; data?: unknown; handler?: string };
    try {
      if (rawError) throw rawError;
      if (!req.is('application/json') || foreignCharset(req.get('content-type'))) throw new GuardError('unsupported_media_type', 'the body must be application/json, in UTF-8');
      const verified = await verifyInbound(deps, { header: (n) => req.get(n), rawBody, now: new Date() }, context);
      const name = requested ?? verified.source.default_handler;
      const handler = Object.hasOwn(INBOUND_HANDLERS, name) ? INBOUND_HANDLERS[name] : undefined;
      if (!handler) throw new GuardError('unknown_handler', `no handler named ${recordable(name) ?? '(not text)'}`);
      if (!verified.source.allowed_handlers.includes(name)) throw new GuardError('handler_not_allowed', `this source may not use the ${name} handler`);
      const input = handler.parse(verified.body);
      const { source, headers } = verified;
      if (!(await recordNonce(deps.db, source.id, headers.nonce))) {
        throw new GuardError('replayed_nonce', 'this nonce was already used by this source');
      }
      let data: unknown;
      try {
        data = await handler.run(
          { deps, source, keyId: verified.keyId, ts: headers.ts, nonce: headers.nonce, skewSeconds: verified.skewSeconds, rawBody, traceId },
          input,
        );
      } catch (err) {
        // The request did not take effect: free its nonce so the sender can retry it as is.
        await forgetNonce(deps.db, source.id, headers.nonce);
        throw err;
      }
      outcome = { code: 'ok', status: 200, msg: 'accepted', data, handler: name };
    } catch (err) {
      outcome = classify(err);
      if (outcome.status >= 500) req.log.error({ err }, 'inbound handler failed');
    }

    const source = context.source;
    // The score weighs what came before this request, then the request joins the window.
    const risk = riskScore({
      result: outcome.code,
      ...recent.history(source?.id ?? null, remoteAddr),
      skewRatio: context.skewSeconds === null || !source ? null : Math.abs(context.skewSeconds) / source.tolerance_seconds,
      unknownKeyId: context.unknownKeyId,
    });
    recent.note(outcome.code, source?.id ?? null, remoteAddr);
    deps.metrics.countInboundRequest(outcome.code, source !== null);
    if (source && (outcome.code === 'ok' || outcome.status >= 500 || recent.mayRecordRejection(source.id))) {
      await recordTelemetry(deps.db, {
        tenantId: source.tenant_id,
        kind: 'inbound_request',
        source: source.id,
        traceId,
        result: outcome.code,
        remoteAddr,
        details: {
          status: outcome.status,
          handler: outcome.handler ?? recordable(requested),
          skew_seconds: context.skewSeconds,
          body_bytes: rawBody.length,
          risk_score: risk,
          key_id: recordable(req.get('x-key-id')),
        },
      });
    }
    const sourceId = source?.id ?? null;
    req.log.info({ traceId, sourceId, result: outcome.code, risk }, 'inbound webhook');
    if (outcome.status === 503) res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
    if (outcome.code === 'ok') res.json({ ok: true, trace_id: traceId, data: outcome.data });
    else res.status(outcome.status).json({ ok: false, err: outcome.code, msg: outcome.msg, trace_id: traceId, ...(outcome.details ? { details: outcome.details } : {}) });
  };

  const route = (req: Request, res: Response, next: NextFunction) => {
    raw(req, res, (rawError?: unknown) => {
      handle(req, res, rawError).catch(next);
    });
  };
  router.post('/webhook/in', route);
  router.post('/webhook/guards/:handler', route);
  return router;
}

const guardHeader = (name: string, required: boolean, description: string) => ({ name, in: 'header', required, schema: { type: 'string' }, description });

/** OpenAPI operations of the inbound routes (outside `/api/v1`: authenticated by signature). */
export function inboundOpenApiPaths(): Record<string, unknown> {
  const operation = (summary: string, extra: unknown[] = []) => ({
    post: {
      summary,
      tags: ['inbound'],
      servers: [{ url: '/' }],
      security: [],
      parameters: [
        ...extra,
        guardHeader('x-ts', true, 'unix seconds; must be within the source tolerance (default ±300 s)'),
        guardHeader('x-nonce', true, '16–128 characters of A-Z a-z 0-9 _ -; single use per source'),
        guardHeader('x-signature', true, 'hex HMAC-SHA512 over `${x-ts}.${x-nonce}.${raw body}` with the source key'),
        guardHeader('x-source-id', false, 'the sending source (or give x-key-id)'),
        guardHeader('x-key-id', false, 'the key that signed'),
      ],
      requestBody: { required: true, content: { 'application/json': { schema: {} } } },
      responses: {
        '200': { description: '`{"ok":true,"trace_id":…,"data":…}`' },
        '4XX': { description: `\`{"ok":false,"err":code,"msg":…,"trace_id":…}\`; codes: ${Object.keys(GUARD_ERRORS).join(', ')}` },
      },
    },
  });
  return {
    '/webhook/in': operation("Inbound webhook to the source's default handler"),
    '/webhook/guards/{handler}': operation('Inbound webhook to a named handler', [
      { name: 'handler', in: 'path', required: true, schema: { type: 'string', enum: Object.keys(INBOUND_HANDLERS) } },
    ]),
  };
}
