import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The webhook receiver every run delivers to: answers 200 at once and notes, per `x-event-id`,
 * when the first request carrying it was fully read (`performance.now()` of this process, the
 * same clock the load generators use).
 */
export class BenchReceiver {
  /** First arrival per event id. */
  private readonly arrivals = new Map<string, number>();
  private pending: Set<string> | null = null;
  private wake: (() => void) | null = null;
  /** Requests received, duplicates included. */
  requests = 0;
  /** Requests without an `x-event-id` header. */
  unmatched = 0;

  private constructor(private readonly server: http.Server, readonly url: string) {}

  static async start(): Promise<BenchReceiver> {
    const holder: { receiver?: BenchReceiver } = {};
    const server = http.createServer((req, res) => {
      req.on('data', () => undefined);
      req.on('end', () => {
        holder.receiver?.note(req.headers['x-event-id']);
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok');
      });
    });
    server.keepAliveTimeout = 30_000;
    server.headersTimeout = 35_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    holder.receiver = new BenchReceiver(server, `http://127.0.0.1:${port}`);
    return holder.receiver;
  }

  private note(header: string | string[] | undefined): void {
    const at = performance.now();
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

  /** When the request for `id` first arrived, or undefined. */
  arrivalOf(id: string): number | undefined {
    return this.arrivals.get(id);
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

  /** Forgets earlier arrivals (between runs). */
  reset(): void {
    this.arrivals.clear();
    this.requests = 0;
    this.unmatched = 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
