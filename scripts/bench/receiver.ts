import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { epochMs } from './clock';

/** A path starting `/hold/<ms>/` is answered after that many ms (a slow receiver). */
const HOLD_PATH = /^\/hold\/(\d{1,6})\//;

/**
 * The webhook receiver every run delivers to: answers `200 ok` (at once, or after the hold its
 * path asks for) and notes, per value of the run's key header (`x-event-id` unless told
 * otherwise), when the first request carrying it was fully read, in epoch ms ({@link epochMs}:
 * the clock of the load generators, in this process or in the floor process).
 */
export class BenchReceiver {
  private readonly arrivals = new Map<string, number>();
  private keyHeader = 'x-event-id';
  private pending: Set<string> | null = null;
  private wake: (() => void) | null = null;
  /** Requests received, duplicates included. */
  requests = 0;
  /** Requests without the key header. */
  unmatched = 0;
  /** Requests read but not yet answered (held), now and at most since the last reset. */
  open = 0;
  peakOpen = 0;

  private constructor(private readonly server: http.Server, readonly url: string) {}

  static async start(): Promise<BenchReceiver> {
    const holder: { receiver?: BenchReceiver } = {};
    const server = http.createServer((req, res) => {
      req.on('data', () => undefined);
      req.on('end', () => {
        const receiver = holder.receiver!;
        receiver.note(req.headers[receiver.keyHeader]);
        const answer = () => {
          receiver.open--;
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok');
        };
        receiver.open++;
        receiver.peakOpen = Math.max(receiver.peakOpen, receiver.open);
        const hold = Number(HOLD_PATH.exec(req.url ?? '')?.[1] ?? 0);
        if (hold > 0) setTimeout(answer, hold);
        else answer();
      });
    });
    server.keepAliveTimeout = 30_000;
    server.headersTimeout = 35_000;
    server.maxConnections = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    holder.receiver = new BenchReceiver(server, `http://127.0.0.1:${port}`);
    return holder.receiver;
  }

  private note(header: string | string[] | undefined): void {
    const at = epochMs();
    this.requests++;
    const id = Array.isArray(header) ? header[0] : header;
    if (!id) {
      this.unmatched++;
      return;
    }
    if (this.arrivals.has(id)) return;
    this.arrivals.set(id, at);
    if (this.pending?.delete(id) && this.pending.size === 0) this.wake?.();
  }

  /** When the request for `id` first arrived (epoch ms), or undefined. */
  arrivalOf(id: string): number | undefined {
    return this.arrivals.get(id);
  }

  /** Distinct ids arrived since the last reset. */
  get arrived(): number {
    return this.arrivals.size;
  }

  /**
   * Resolves once a request arrived for every id; rejects after `timeoutMs` naming how many are
   * missing. One wait at a time.
   */
  async waitFor(ids: Iterable<string>, timeoutMs: number): Promise<void> {
    const pending = new Set<string>();
    for (const id of ids) if (!this.arrivals.has(id)) pending.add(id);
    if (pending.size === 0) return;
    this.pending = pending;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s: ${pending.size} deliveries never arrived`));
        }, timeoutMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    } finally {
      this.pending = null;
      this.wake = null;
    }
  }

  /** Forgets earlier arrivals and counts; later arrivals are keyed by `keyHeader`. */
  reset(keyHeader = 'x-event-id'): void {
    this.arrivals.clear();
    this.keyHeader = keyHeader.toLowerCase();
    this.requests = 0;
    this.unmatched = 0;
    this.peakOpen = this.open;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
