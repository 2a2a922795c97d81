import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { makeTestPki } from '../helpers/certificates';
import { Receiver } from '../helpers/receiver';
import { eventually, startStack, stopAll, type Stack } from '../helpers/stack';

/** A CONNECT proxy on loopback that records every tunnel it was asked for, and opens it. */
class ConnectProxy {
  readonly tunnels: string[] = [];
  private readonly sockets = new Set<net.Socket>();
  private constructor(private readonly server: http.Server, readonly url: string) {}

  static async start(): Promise<ConnectProxy> {
    const server = http.createServer((_req, res) => res.writeHead(405).end('CONNECT only'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new ConnectProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      proxy.tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(/:(?=\d+$)/);
      const upstream = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      for (const socket of [client, upstream]) {
        proxy.sockets.add(socket);
        socket.on('error', () => undefined).on('close', () => proxy.sockets.delete(socket));
      }
      upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    });
    return proxy;
  }

  async close(): Promise<void> {
    this.sockets.forEach((s) => s.destroy());
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let proxy: ConnectProxy;
let receiver: Receiver;
let stack: Stack;

beforeAll(async () => {
  // The receiver listens on 127.0.0.2, the one address the egress policy allows (localhost is an
  // allowed name, but its loopback address is not); the proxy is the operator's, reached whatever
  // the policy says.
  [proxy, receiver] = await Promise.all([ConnectProxy.start(), Receiver.start({ host: '127.0.0.2' })]);
  stack = await startStack({ env: { EGRESS_PROXY_URL: proxy.url, EGRESS_ALLOW_PRIVATE: 'false', EGRESS_ALLOWLIST: '127.0.0.2/32,localhost' } });
});
afterAll(async () => {
  await stopAll(stack, receiver);
  await proxy?.close();
});

const ONCE = { max_retries: 0 };

async function endedDelivery(id: string) {
  return eventually(async () => {
    const res = await stack.call('GET', `/api/v1/deliveries/${id}`);
    return ['succeeded', 'failed'].includes(res.body.data?.status) ? res.body.data : undefined;
  }, 30_000, `delivery ${id} to end`);
}

async function deliver(type: string, url: string, path: string): Promise<{ endpointId: string; deliveryId: string }> {
  const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: [type], retry_config: ONCE });
  expect(created.status).toBe(201);
  // As if saved before the policy changed (the API refuses these URLs now).
  if (url !== receiver.url) await stack.db('endpoints').where({ id: created.body.data.id }).update({ url: url + path });
  const sent = await stack.call('POST', '/api/v1/events', { type, payload: { n: 1 } });
  return { endpointId: created.body.data.id, deliveryId: sent.body.data.deliveries[0].id };
}

describe('when EGRESS_PROXY_URL is set', () => {
  it('then a delivery goes through a CONNECT tunnel to the destination, and arrives', async () => {
    const { deliveryId } = await deliver('proxy.ok', receiver.url, '/via-proxy');
    expect((await endedDelivery(deliveryId)).status).toBe('succeeded');
    const [request] = await receiver.waitForRequests(1, 10_000, '/via-proxy');
    expect(request!.headers['x-delivery-id']).toBe(deliveryId);
    expect(proxy.tunnels).toContain(new URL(receiver.url).host);
  });

  it('then a refused IP literal is blocked before the proxy is asked', async () => {
    const before = proxy.tunnels.length;
    const loopback = receiver.url.replace('127.0.0.2', '127.0.0.1');
    const { deliveryId } = await deliver('proxy.literal', loopback, '/literal');
    const delivery = await endedDelivery(deliveryId);
    expect(delivery.attempts[0]).toMatchObject({ outcome: 'failed', error_class: 'egress_blocked' });
    expect(proxy.tunnels.slice(before)).toEqual([]);
  });

  it('then a name is resolved and checked here first: one resolving to a refused address never reaches the proxy', async () => {
    const before = proxy.tunnels.length;
    const named = receiver.url.replace('127.0.0.2', 'localhost');
    const { deliveryId } = await deliver('proxy.named', named, '/named');
    const delivery = await endedDelivery(deliveryId);
    expect(delivery.attempts[0]).toMatchObject({ outcome: 'failed', error_class: 'egress_blocked', error_message: expect.stringContaining('non-public address') });
    expect(proxy.tunnels.slice(before)).toEqual([]);
    expect(receiver.requests.filter((r) => r.path === '/named')).toHaveLength(0);
  });

  it('then the endpoint test request goes through the proxy as well', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/proxy-test', events: ['proxy.test'] });
    const before = proxy.tunnels.length;
    const tested = await stack.call('POST', `/api/v1/endpoints/${created.body.data.id}/test`, {});
    expect(tested.body.data).toMatchObject({ status: 'succeeded', response_code: 200 });
    expect(proxy.tunnels.slice(before)).toEqual([new URL(receiver.url).host]);
  });

  it('then mutual TLS runs inside the tunnel: the receiver sees the client certificate, the proxy only host:port', async () => {
    const pki = makeTestPki('127.0.0.2');
    const tlsReceiver = await Receiver.start({ host: '127.0.0.2', tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca, requestCert: true, rejectUnauthorized: true } });
    try {
      const created = await stack.call('POST', '/api/v1/endpoints', { url: tlsReceiver.url + '/mtls', events: ['proxy.mtls'], client_certificate: pki.client, ca_bundle: pki.ca, retry_config: ONCE });
      expect(created.status).toBe(201);
      const before = proxy.tunnels.length;
      const sent = await stack.call('POST', '/api/v1/events', { type: 'proxy.mtls', payload: { n: 1 } });
      expect((await endedDelivery(sent.body.data.deliveries[0].id)).status).toBe('succeeded');
      const [request] = await tlsReceiver.waitForRequests(1, 10_000, '/mtls');
      expect(request!.clientCN).toBe('webhook-client');
      expect(proxy.tunnels.slice(before)).toEqual([new URL(tlsReceiver.url).host]);
    } finally {
      await tlsReceiver.close();
    }
  });
});
