import type { Request, Response } from 'express';
import { tenantAttemptsAfter, type AttemptStreamFilter, type StreamedAttemptRow } from '../db/attempts-repo';
import type { Db } from '../db/knex';
import { ValidationError } from '../errors';
import type { AttemptHub } from '../services/attempt-stream';

/** Most rows one connection replays after its resume point; the client reconnects for more. */
export const REPLAY_LIMIT = 1000;

/** Events queued for a client whose socket is not draining, before its stream is ended. */
export const MAX_PENDING_EVENTS = 500;

/** A comment line this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

/** Reconnection delay suggested to EventSource clients. */
const RETRY_MS = 3_000;

/** How long an ended stream may take to flush to a client that stopped reading. */
const END_GRACE_MS = 10_000;

const SAFE_ID = /^\d{1,18}$/;

/** The JSON of one `attempt` event: what a dashboard needs, never a response excerpt or a secret. */
export function attemptEventData(row: StreamedAttemptRow) {
  return {
    delivery_id: row.delivery_id,
    endpoint_id: row.endpoint_id,
    event_id: row.event_id,
    attempt: row.attempt,
    outcome: row.outcome,
    response_status: row.response_status,
    error_class: row.error_class,
    duration_ms: row.duration_ms,
    started_at: row.started_at.toISOString(),
    delivery_status: row.delivery_status,
  };
}

/** Where to resume: the `Last-Event-ID` header (what EventSource sends back), else `since_id`. */
export function resumePoint(header: string | undefined, sinceId: string | undefined): bigint | null {
  if (header !== undefined && header !== '') {
    if (!SAFE_ID.test(header)) {
      throw new ValidationError('Last-Event-ID must be an attempt id', [{ path: 'headers.last-event-id', message: 'must be an attempt id (digits)' }]);
    }
    return BigInt(header);
  }
  return sinceId === undefined ? null : BigInt(sinceId);
}

type Frame = { id: string; text: string };

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };

const attemptFrame = (row: StreamedAttemptRow): Frame => ({
  id: row.id,
  text: `event: attempt\nid: ${row.id}\ndata: ${JSON.stringify(attemptEventData(row))}\n\n`,
});

/**
 * One client's `text/event-stream`. Frames wait in a queue while the stream is not open yet (its
 * replay is being read) or while the socket is not draining; past {@link MAX_PENDING_EVENTS} the
 * stream ends with an `overflow` event instead of growing without bound.
 */
class SseClient {
  private queue: Frame[] = [];
  private opened = false;
  private blocked = false;
  private ended = false;
  private lastId: string | null = null;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly endHandlers: Array<() => void> = [];

  constructor(private readonly res: Response) {
    res.on('drain', () => {
      this.blocked = false;
      this.flush();
    });
  }

  /** Runs `handler` when the stream ends (at once if it already has). */
  whenEnded(handler: () => void): void {
    if (this.ended) handler();
    else this.endHandlers.push(handler);
  }

  send(row: StreamedAttemptRow): void {
    if (this.ended) return;
    this.queue.push(attemptFrame(row));
    if (this.queue.length > MAX_PENDING_EVENTS) this.end(this.opened ? 'slow_client' : 'backlog');
    else this.flush();
  }

  /**
   * Writes the headers, the replayed rows, then what arrived meanwhile (minus what the replay
   * already had). `more` says the replay stopped at its limit: the stream then ends, and the
   * client resumes from the last replayed row instead of skipping the rest of the backlog.
   */
  open(replay: StreamedAttemptRow[], skip: (id: string) => boolean, more: boolean): void {
    if (this.ended) return;
    this.res.writeHead(200, SSE_HEADERS);
    this.res.flushHeaders();
    this.opened = true;
    let drained = this.res.write(`retry: ${RETRY_MS}\n\n`);
    // The replay is bounded (REPLAY_LIMIT), so it is written at once, whatever the socket says.
    for (const row of replay) {
      drained = this.res.write(attemptFrame(row).text);
      this.lastId = row.id;
    }
    if (more) {
      this.end('backlog');
      return;
    }
    this.queue = this.queue.filter((frame) => !skip(frame.id));
    this.blocked = !drained;
    this.flush();
    this.heartbeat = setInterval(() => {
      if (!this.blocked) this.blocked = !this.res.write(': ping\n\n');
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Stops everything: the client went away, or the stream ended. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    this.queue = [];
    for (const handler of this.endHandlers.splice(0)) handler();
  }

  private flush(): void {
    while (this.opened && !this.ended && !this.blocked && this.queue.length > 0) {
      const frame = this.queue.shift()!;
      this.lastId = frame.id;
      this.blocked = !this.res.write(frame.text);
    }
  }

  /**
   * Ends the stream with an `overflow` event. It carries no `id:`, so the client's last event id
   * stays the last attempt it received: where a reconnect resumes.
   */
  private end(reason: 'slow_client' | 'backlog'): void {
    if (!this.opened) this.res.writeHead(200, SSE_HEADERS);
    const text = `event: overflow\ndata: ${JSON.stringify({ reason, last_event_id: this.lastId })}\n\n`;
    this.close();
    this.res.end(text);
    // A client that stopped reading would otherwise keep the socket and its buffer forever.
    setTimeout(() => this.res.destroy(), END_GRACE_MS).unref();
  }
}

export interface AttemptStreamIn {
  tenantId: string;
  filter: AttemptStreamFilter;
  /** Replay rows after this id first; null starts at the newest row. */
  resumeFrom: bigint | null;
}

/**
 * Serves one SSE stream of a tenant's attempts: subscribes to the hub first (so nothing committed
 * during the replay is missed), replays the backlog after the resume point, then streams live rows
 * until the client disconnects.
 */
export async function streamAttempts(db: Db, hub: AttemptHub, input: AttemptStreamIn, req: Request, res: Response): Promise<void> {
  const client = new SseClient(res);
  // Listening before the first await: a client gone while we subscribe must still unsubscribe.
  req.on('close', () => client.close());
  client.whenEnded(await hub.subscribe(input.tenantId, { filter: input.filter, push: (row) => client.send(row) }));

  const { resumeFrom } = input;
  let replay: StreamedAttemptRow[] = [];
  if (resumeFrom !== null) {
    try {
      replay = await tenantAttemptsAfter(db, input.tenantId, resumeFrom, input.filter, REPLAY_LIMIT + 1);
    } catch (err) {
      client.close();
      // Already answered (the live rows overflowed meanwhile): nothing left to tell this client.
      if (res.headersSent) return;
      throw err;
    }
  }
  const more = replay.length > REPLAY_LIMIT;
  if (more) replay = replay.slice(0, REPLAY_LIMIT);
  const replayed = new Set(replay.map((r) => r.id));
  client.open(replay, (id) => replayed.has(id) || (resumeFrom !== null && BigInt(id) <= resumeFrom), more);
}
