import express, { Router, type Request, type RequestHandler } from 'express';
import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import { AppError } from '../errors';
import type { Scope } from '../domain/scopes';
import type { AppDeps } from '../services/deps';
import { payloadCodec } from '../temporal/payload-codec';
import { authenticate, requireScope, type CredentialResolver } from './auth';
import { checkJsonInput, verifyUtf8 } from './json-input';
import { requireJsonBody, validate } from './middleware';

const base64 = z.string().max(8 * 1024 * 1024).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

/** Temporal's remote codec protocol: proto3 JSON payloads, every bytes field base64. */
const payloadsBody = z
  .object({
    payloads: z.array(z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() })).max(10_000),
  })
  .passthrough();

type JsonPayload = { metadata?: Record<string, string>; data?: string };

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

/** The local Web UI's origins, by host name as typed in the browser. */
function corsOrigins(config: AppDeps['config']): Set<string> {
  const listed = config.TEMPORAL_CODEC_CORS_ORIGINS?.split(',').map((o) => o.trim()).filter((o) => o !== '');
  return new Set(listed ?? [`http://127.0.0.1:${config.TEMPORAL_UI_PORT}`, `http://localhost:${config.TEMPORAL_UI_PORT}`]);
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A request from the local Web UI, which cannot send the API's token over http: outside
 * production, from a loopback address, to a loopback Host (no DNS rebinding: a page on another
 * name cannot pass), from a listed Web UI Origin (no other page of the browser, no script without
 * one). Anything else needs a credential.
 */
function fromLocalWebUi(config: AppDeps['config'], req: Request, origins: Set<string>): boolean {
  if (config.NODE_ENV === 'production' || req.get('authorization')) return false;
  const address = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const loopback = address.startsWith('127.') || address === '::1';
  const host = (req.get('host') ?? '').toLowerCase().replace(/:\d+$/, '');
  const origin = req.get('origin');
  return loopback && LOOPBACK_HOSTS.has(host) && origin !== undefined && origins.has(origin);
}

/** A bearer credential with the scope, as on `/api/v1`, unless the request is the local Web UI's. */
function codecAuth(deps: AppDeps, resolvers: CredentialResolver[], scope: Scope, origins: Set<string>): RequestHandler {
  const authenticated = authenticate(resolvers);
  const scoped = requireScope(scope);
  return (req, res, next) => {
    if (fromLocalWebUi(deps.config, req, origins)) {
      next();
      return;
    }
    authenticated(req, res, (err?: unknown) => (err ? next(err) : scoped(req, res, next)));
  };
}

/**
 * `/codec/encode` and `/codec/decode`: the codec endpoint the Temporal Web UI and CLI call to show
 * encrypted history (`--ui-codec-endpoint`, or the UI's "Codec Server" setting). 404
 * `codec_disabled` unless TEMPORAL_CODEC_KEY is set.
 */
export function codecRouter(deps: AppDeps, resolvers: CredentialResolver[]): Router {
  const codec = payloadCodec(deps.config);
  const origins = corsOrigins(deps.config);
  const router = Router();

  router.use((req, res, next) => {
    const origin = req.get('origin');
    if (origin && origins.has(origin)) {
      res.vary('Origin');
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
      res.setHeader('access-control-allow-headers', 'content-type, x-namespace, authorization');
      res.setHeader('access-control-max-age', '600');
    }
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    if (!codec) {
      next(new AppError(404, 'codec_disabled', 'payload encryption is off: set TEMPORAL_CODEC_KEY'));
      return;
    }
    const namespace = req.get('x-namespace');
    if (namespace !== undefined && namespace !== deps.config.TEMPORAL_NAMESPACE) {
      next(new AppError(404, 'unknown_namespace', `this codec serves namespace ${deps.config.TEMPORAL_NAMESPACE} only`));
      return;
    }
    next();
  });
  router.use(requireJsonBody, express.json({ limit: deps.config.MAX_BODY_BYTES, strict: true, verify: verifyUtf8 }), checkJsonInput);

  for (const [action, scope] of [['decode', 'deliveries:read'], ['encode', 'deliveries:write']] as const) {
    const run: RequestHandler = async (req, res) => {
      const { payloads } = validate(payloadsBody, req.body, 'body');
      const done = await (action === 'decode' ? codec!.decode(payloads.map(fromJson)) : codec!.encode(payloads.map(fromJson))).catch((err: Error) => {
        throw new AppError(422, 'codec_failed', err.message);
      });
      res.json({ payloads: done.map(toJson) });
    };
    router.post(`/${action}`, codecAuth(deps, resolvers, scope, origins), run);
  }
  return router;
}
