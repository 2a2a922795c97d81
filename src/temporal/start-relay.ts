import { createServer, type IncomingMessage, type Server } from 'node:http';
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { Agent, request } from 'undici';
import type { Logger } from '../logger';
import { listen } from '../bootstrap';
import { bearerMatcher } from '../security/bearer';
import type { DeliveryIn, RelayedStart, StartDeliveries } from './delivery-workflows';
import { isTemporalUnavailable } from './client';

/**
 * Start relay: where the API and the workers run apart, the API hands an event's delivery starts
 * to a worker, which starts them eagerly on itself (Temporal hands the first workflow task back in
 * the start's answer: no task-queue match, no poll). The API still answers only once the starts
 * are done, so a 202 means started, as before; when no worker answers, the API starts them itself.
 */

export const RELAY_PATH = '/v1/delivery-starts';
const MAX_BODY_BYTES = 256 * 1024;

/** The request's body; past {@link MAX_BODY_BYTES} the rest is read and dropped, so the caller still gets its 413. */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  if (size > MAX_BODY_BYTES) throw new RelayError(413, 'body_too_large', `the body may hold at most ${MAX_BODY_BYTES} bytes`);
  return Buffer.concat(chunks);
}

class RelayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function parseStarts(body: Buffer): RelayedStart[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RelayError(400, 'invalid_json', 'the body is not JSON');
  }
  const starts = parsed !== null && typeof parsed === 'object' ? (parsed as { starts?: unknown }).starts : undefined;
  if (!Array.isArray(starts) || starts.length === 0 || starts.length > 64) throw new RelayError(400, 'invalid_starts', 'starts: 1 to 64 deliveries');
  for (const s of starts as Array<Partial<RelayedStart> | null>) {
    const input = (s !== null && typeof s === 'object' ? s.input : undefined) as Partial<DeliveryIn> | null | undefined;
    if (!input || typeof input.deliveryId !== 'string' || typeof input.eventId !== 'string' || typeof input.endpointId !== 'string' || typeof input.tenantId !== 'string' || typeof input.eventType !== 'string') {
      throw new RelayError(400, 'invalid_starts', 'each start needs input.{tenantId,deliveryId,eventId,endpointId,eventType}');
    }
  }
  return starts as RelayedStart[];
}

/**
 * The worker's side: `POST /v1/delivery-starts` with `Authorization: Bearer <token>` and
 * `{"starts":[…]}` starts them through `start` (eagerly on this worker) and answers
 * `{"ok":true,"started":n,"eager":m}`; 503 when Temporal is unreachable.
 */
export async function startRelayServer(opts: { start: StartDeliveries; host: string; port: number; token: string; log: Logger }): Promise<{ server: Server; url: string }> {
  // The expected token's digest is taken once, not on each of the API's requests.
  const authorized = bearerMatcher(opts.token);
  const server = createServer((req, res) => {
    const answer = (status: number, body: Record<string, unknown>) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const fail = (err: unknown) => {
      if (err instanceof RelayError) return answer(err.status, { ok: false, err: err.code, msg: err.message });
      if (isTemporalUnavailable(err)) return answer(503, { ok: false, err: 'temporal_unavailable', msg: 'Temporal is unavailable' });
      opts.log.error({ err }, 'relayed delivery start failed');
      return answer(500, { ok: false, err: 'internal', msg: 'internal error' });
    };
    if (req.method !== 'POST' || req.url !== RELAY_PATH) return answer(404, { ok: false, err: 'not_found', msg: `POST ${RELAY_PATH} only` });
    if (!authorized(req.headers.authorization)) return answer(401, { ok: false, err: 'unauthorized', msg: 'Authorization: Bearer <WORKER_START_TOKEN>' });
    // The starts continue the API request's trace (its `traceparent`), as the API's own would.
    const traced = propagation.extract(ROOT_CONTEXT, req.headers);
    readBody(req)
      .then((body) => context.with(traced, () => opts.start(parseStarts(body))))
      .then((outcome) => answer(200, { ok: true, ...outcome }), fail);
  });
  server.keepAliveTimeout = 65_000;
  return listen(server, opts.host, opts.port);
}

/**
 * The API's side: hands starts to the workers at `urls` in turn; when a worker cannot be reached
 * or does not answer 200, the starts go through `fallback` (the API's own client), so a delivery
 * is started either way (a start repeated by the fallback finds its workflow and does nothing).
 */
export function relayedStarts(opts: { urls: string[]; token: string; timeoutMs: number; fallback: StartDeliveries; log: Logger }): { start: StartDeliveries; close(): Promise<void> } {
  const agent = new Agent({ keepAliveTimeout: 60_000, connections: 64 });
  let next = 0;
  const start: StartDeliveries = async (starts) => {
    const url = opts.urls[next++ % opts.urls.length]!;
    const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${opts.token}` };
    propagation.inject(context.active(), headers);
    try {
      const res = await request(`${url}${RELAY_PATH}`, {
        method: 'POST',
        dispatcher: agent,
        headers,
        body: JSON.stringify({ starts }),
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      });
      const body = (await res.body.json()) as { started?: number; eager?: number; err?: string };
      if (res.statusCode === 200) return { started: body.started ?? 0, eager: body.eager ?? 0 };
      opts.log.warn({ worker: url, status: res.statusCode, err: body.err }, 'worker did not start deliveries; starting them here');
    } catch (err) {
      opts.log.warn({ worker: url, err }, 'worker unreachable for delivery starts; starting them here');
    }
    return opts.fallback(starts);
  };
  return { start, close: () => agent.close() };
}
