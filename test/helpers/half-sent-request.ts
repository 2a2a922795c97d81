import { connect, type Socket } from 'node:net';

/**
 * A connection to a loopback server holding a `POST` whose body is never finished: it announces
 * 100 bytes and sends only `bodyStart`, so the server counts the request as in progress (not
 * idle) until the connection is cut. For tests of a process's stop: its grace, its bound.
 */
export async function halfSentRequest(port: number, path: string, token: string, bodyStart: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => undefined);
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n${bodyStart}`);
  return socket;
}
