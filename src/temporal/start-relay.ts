import { createServer, type IncomingMessage, type Server } from 'node:http';
import { context, propagation, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { Agent, request } from 'undici';
import type { Logger } from '../logger';
import { listen } from '../bootstrap';
import { bearerMatcher } from '../security/bearer';
import type { AttemptHandoff, DeliveryIn, RelayedStart, StartDeliveries, StartOutcome } from './delivery-workflows';
import { isTemporalUnavailable } from './client';

/**
 * Start relay: where the API and the workers run apart, the API hands an event's delivery starts
 * to a worker, which starts them eagerly on itself (Temporal hands the first workflow task back in
 * the start's answer: no task-queue match, no poll). The API still answers only once the starts
 * are done, so a 202 means started, as before; when no worker answers, the API starts them itself.
 */

export const RELAY_PATH = '/v1/delivery-starts';
/** Room for {@link MAX_RELAYED_STARTS} starts with their handoffs (an endpoint's sealed settings, an event's body up to `HANDOFF_BODY_MAX`). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** The most starts one request may carry. */
export const MAX_RELAYED_STARTS = 64;

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

/**
 * One start as the relay carries it: the delivery, and the trace of the API request it comes
 * from (W3C `traceparent`/`tracestate`, when tracing is on), since one request may carry the
 * starts of several API requests.
 */
interface WireStart extends RelayedStart {
  trace?: Record<string, string>;
}

/** What became of each start of a request, in order (the worker's answer says it from this version on). */
type StartResult = 'eager' | 'started' | 'existing';

/** The counts of `results`, as a {@link StartDeliveries} call answers them. */
const tally = (results: readonly StartResult[]): StartOutcome => ({ started: results.filter((r) => r !== 'existing').length, eager: results.filter((r) => r === 'eager').length });

function parseStarts(body: Buffer): WireStart[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RelayError(400, 'invalid_json', 'the body is not JSON');
  }
  const starts = parsed !== null && typeof parsed === 'object' ? (parsed as { starts?: unknown }).starts : undefined;
  if (!Array.isArray(starts) || starts.length === 0 || starts.length > MAX_RELAYED_STARTS) throw new RelayError(400, 'invalid_starts', `starts: 1 to ${MAX_RELAYED_STARTS} deliveries`);
  for (const s of starts as Array<Partial<WireStart> | null>) {
    const input = (s !== null && typeof s === 'object' ? s.input : undefined) as Partial<DeliveryIn> | null | undefined;
    if (!input || typeof input.deliveryId !== 'string' || typeof input.eventId !== 'string' || typeof input.endpointId !== 'string' || typeof input.tenantId !== 'string' || typeof input.eventType !== 'string') {
      throw new RelayError(400, 'invalid_starts', 'each start needs input.{tenantId,deliveryId,eventId,endpointId,eventType}');
    }
    const handoff = (s as Partial<WireStart>).handoff as Partial<AttemptHandoff> | null | undefined;
    if (handoff !== undefined && (handoff === null || typeof handoff !== 'object' || handoff.attempt === null || typeof handoff.attempt !== 'object' || Array.isArray(handoff.attempt) || (handoff.body !== undefined && typeof handoff.body !== 'string'))) {
      throw new RelayError(400, 'invalid_starts', 'a start\'s handoff is {"attempt":{…},"body"?:"…"}');
    }
    const trace = (s as Partial<WireStart>).trace;
    if (trace !== undefined && (trace === null || typeof trace !== 'object' || Array.isArray(trace) || Object.values(trace).some((v) => typeof v !== 'string'))) {
      throw new RelayError(400, 'invalid_starts', 'a start\'s trace is an object of strings (traceparent, tracestate)');
    }
  }
  return starts as WireStart[];
}

/**
 * Makes each start through `start`, in the trace its API request came in (the request's own when
 * the start carries none: an API from before starts carried their traces), and says what became
 * of each.
 */
async function startEach(start: StartDeliveries, starts: readonly WireStart[], requestTrace: Context): Promise<StartResult[]> {
  return Promise.all(
    starts.map(async ({ trace, ...one }) => {
      const outcome = await context.with(trace ? propagation.extract(ROOT_CONTEXT, trace) : requestTrace, () => start([one]));
      return outcome.eager > 0 ? 'eager' : outcome.started > 0 ? 'started' : 'existing';
    }),
  );
}

/**
 * The worker's side: `POST /v1/delivery-starts` with `Authorization: Bearer <token>` and
 * `{"starts":[{"input":…,"display":…,"handoff":…,"trace":{"traceparent":…}},…]}` starts them through `start`
 * (eagerly on this worker) and answers `{"ok":true,"started":n,"eager":m,"results":[…]}`, where
 * `results` says of each start, in order, `eager`, `started` or `existing` (started before);
 * 503 when Temporal is unreachable.
 */
export async function startRelayServer(opts: {
  start: StartDeliveries;
  host: string;
  port: number;
  token: string;
  log: Logger;
  /** Told, for each request whose starts were made, the seconds from its arrival until Temporal answered them all. */
  onStarted?: (seconds: number) => void;
}): Promise<{ server: Server; url: string }> {
  // The expected token's digest is taken once, not on each of the API's requests.
  const authorized = bearerMatcher(opts.token);
  const server = createServer((req, res) => {
    const arrived = performance.now();
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
      .then((body) => startEach(opts.start, parseStarts(body), traced))
      .then(
        (results) => {
          opts.onStarted?.((performance.now() - arrived) / 1000);
          answer(200, { ok: true, ...tally(results), results });
        },
        fail,
      );
  });
  server.keepAliveTimeout = 65_000;
  return listen(server, opts.host, opts.port);
}

/** The starts of one API call, waiting for their relay request. */
interface Waiting {
  starts: readonly WireStart[];
  resolve(outcome: StartOutcome | Promise<StartOutcome>): void;
}

/** A worker's relay, as the API sees it. */
interface RelayTarget {
  url: string;
  inFlight: number;
  /** It answered with `results` before: starts of several calls may share one request to it. */
  saysEach: boolean;
}

/**
 * The API's side: hands starts to the workers at `urls`, in turn. At most `inFlight` requests go
 * to a worker at once; starts that come meanwhile wait, and the next request to be sent carries
 * all that have waited (up to {@link MAX_RELAYED_STARTS}), so under load one request starts the
 * deliveries of several API requests, and when the load is light no start waits. When a worker
 * cannot be reached or does not answer 200, the starts go through `fallback` (the API's own
 * client), so a delivery is started either way (a start repeated by the fallback finds its
 * workflow and does nothing).
 */
export function relayedStarts(opts: {
  urls: string[];
  token: string;
  timeoutMs: number;
  inFlight?: number;
  fallback: StartDeliveries;
  log: Logger;
  /** Told of each request: how many starts it carried, and whether the worker made them. */
  onRequest?: (starts: number, answered: boolean) => void;
}): {
  start: StartDeliveries;
  close(): Promise<void>;
} {
  const perWorker = opts.inFlight ?? 4;
  const agent = new Agent({ keepAliveTimeout: 60_000, connections: Math.max(perWorker, 1) * 2 });
  const targets: RelayTarget[] = opts.urls.map((url) => ({ url, inFlight: 0, saysEach: false }));
  const waiting: Waiting[] = [];
  let next = 0;

  /** The next worker in turn with room for a request. */
  const free = (): RelayTarget | undefined => {
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(next + i) % targets.length]!;
      if (target.inFlight < perWorker) {
        next = (next + i + 1) % targets.length;
        return target;
      }
    }
    return undefined;
  };

  /** Sends what waits while a worker has room. */
  const pump = () => {
    for (let target = waiting.length > 0 ? free() : undefined; target; target = waiting.length > 0 ? free() : undefined) {
      // Another call's starts join only a worker known to answer for each start.
      const batch = [waiting.shift()!];
      let size = batch[0]!.starts.length;
      while (target.saysEach && waiting.length > 0 && size + waiting[0]!.starts.length <= MAX_RELAYED_STARTS) {
        size += waiting[0]!.starts.length;
        batch.push(waiting.shift()!);
      }
      target.inFlight++;
      void send(target, batch).finally(() => {
        target.inFlight--;
        pump();
      });
    }
  };

  /** One request to `target` for the starts of `batch`; a call whose starts it did not make gets them made by the fallback. */
  const send = async (target: RelayTarget, batch: Waiting[]): Promise<void> => {
    const starts = batch.flatMap((w) => w.starts);
    let results: StartResult[] | null = null;
    let total: StartOutcome | null = null;
    try {
      const res = await request(`${target.url}${RELAY_PATH}`, {
        method: 'POST',
        dispatcher: agent,
        // A request of one call's starts carries its trace as headers too, for a worker from before starts carried their traces.
        headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.token}`, ...(batch.length === 1 ? batch[0]!.starts[0]?.trace : undefined) },
        body: JSON.stringify({ starts }),
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      });
      const body = (await res.body.json()) as { started?: number; eager?: number; results?: unknown; err?: string };
      if (res.statusCode === 200) {
        if (Array.isArray(body.results) && body.results.length === starts.length) {
          results = body.results as StartResult[];
          target.saysEach = true;
        } else {
          // A worker from before per-start answers (or one put back to it): one call per request from now on.
          total = { started: body.started ?? 0, eager: body.eager ?? 0 };
          target.saysEach = false;
        }
      } else {
        opts.log.warn({ worker: target.url, status: res.statusCode, err: body.err }, 'worker did not start deliveries; starting them here');
      }
    } catch (err) {
      opts.log.warn({ worker: target.url, err }, 'worker unreachable for delivery starts; starting them here');
    }
    opts.onRequest?.(starts.length, results !== null || total !== null);
    let offset = 0;
    for (const [i, w] of batch.entries()) {
      const mine = results?.slice(offset, (offset += w.starts.length));
      if (mine) w.resolve(tally(mine));
      // Totals only: the first call gets them (the only one, unless the worker was just put back to an older version), so they add up.
      else if (total) w.resolve(i === 0 ? total : { started: 0, eager: 0 });
      else w.resolve(opts.fallback(w.starts.map(({ trace: _trace, ...one }) => one)));
    }
  };

  const start: StartDeliveries = (starts) =>
    new Promise<StartOutcome>((resolve) => {
      const trace: Record<string, string> = {};
      propagation.inject(context.active(), trace);
      const traced = Object.keys(trace).length > 0;
      waiting.push({ starts: traced ? starts.map((s) => ({ ...s, trace })) : starts, resolve });
      pump();
    });
  return { start, close: () => agent.close() };
}
