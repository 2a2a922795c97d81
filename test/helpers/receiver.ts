import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  /** The client certificate's subject CN, when the receiver speaks TLS and the client sent one. */
  clientCN?: string;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/** An answer (sent after `delayMs` when given), or `hang`: no answer until the receiver closes. */
export type Responder = (req: ReceivedRequest, index: number) =>
  | { status: number; body?: string; headers?: Record<string, string>; delayMs?: number }
  | 'hang';

/** A real HTTP receiver on loopback whose answers can be changed mid-test. */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  private responder: Responder = () => ({ status: 200, body: 'ok' });
  private waiters: Array<() => void> = [];
  private hanging = new Set<http.ServerResponse>();
  private constructor(private readonly server: http.Server, readonly url: string) {}

  /** `host`: the loopback address to listen on; `tls`: speak HTTPS with these server options. */
  static async start(options: { host?: string; tls?: https.ServerOptions } = {}): Promise<Receiver> {
    const host = options.host ?? '127.0.0.1';
    const server = options.tls ? https.createServer(options.tls) : http.createServer();
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    const { port } = server.address() as AddressInfo;
    const receiver = new Receiver(server, `${options.tls ? 'https' : 'http'}://${host}:${port}`);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => receiver.handle(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    return receiver;
  }

  respond(responder: Responder): void {
    this.responder = responder;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: string) {
    const received: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, at: Date.now() };
    const socket = req.socket as import('node:tls').TLSSocket;
    if (typeof socket.getPeerCertificate === 'function') {
      const cn = socket.getPeerCertificate().subject?.CN;
      if (cn) received.clientCN = Array.isArray(cn) ? cn[0] : cn;
    }
    const index = this.requests.push(received) - 1;
    const answer = this.responder(received, index);
    if (answer === 'hang') this.hanging.add(res);
    else {
      const reply = () => res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers }).end(answer.body ?? '');
      if (!answer.delayMs) reply();
      else {
        this.hanging.add(res);
        setTimeout(() => {
          this.hanging.delete(res);
          reply();
        }, answer.delayMs);
      }
    }
    this.waiters.splice(0).forEach((wake) => wake());
  }

  /** Resolves once `count` requests (to `path`, when given) have arrived. */
  async waitForRequests(count: number, timeoutMs = 30_000, path?: string): Promise<ReceivedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    const matching = () => this.requests.filter((r) => path === undefined || r.path === path);
    while (matching().length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} requests, got ${matching().length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return matching();
  }

  async close(): Promise<void> {
    this.hanging.forEach((res) => res.destroy());
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
