import net from 'node:net';

export const LOOPBACK = '127.0.0.1';

/** Asks the OS for a free TCP port on `host`. */
export function findFreePort(host = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Resolves when `port` can be bound on `host`; rejects with a clear message when it is taken,
 * naming the setting that moves it.
 */
export async function assertPortFree(host: string, port: number, what: string, setting: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
        reject(
          new Error(
            `cannot start the Temporal server: ${what} port ${port} on ${host} is ` +
              `${err.code === 'EADDRINUSE' ? 'already in use' : 'not allowed'} ` +
              `(is another Temporal server running?). Stop it, set TEMPORAL_ADDRESS to use an ` +
              `existing Temporal server instead, or set ${setting} to a free port.`,
          ),
        );
      } else {
        reject(err);
      }
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** Resolves `true` when a TCP connection to `host:port` succeeds, `false` when it is refused. */
export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Wraps a host for a URL or `host:port` address (IPv6 in brackets). */
export function hostForUrl(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}
