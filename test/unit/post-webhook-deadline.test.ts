import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Agent } from 'undici';
import { withDeadline } from '../../src/http/deadline';
import { postWebhook } from '../../src/http/post-webhook';
import { egressPolicy } from '../../src/security/egress';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** A loopback receiver: `/ok` answers 200 at once, `/never` never answers. */
let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    if (req.url === '/ok') req.on('end', () => res.writeHead(200).end('fine'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const post = (http: Agent, path: string, timeoutMs: number) =>
  postWebhook({ url: `${base}${path}`, headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs, excerptBytes: 64, http, egress: egressPolicy({ NODE_ENV: 'test' }) });

describe('the send deadline', () => {
  it('when the receiver does not answer in time, then the attempt ends as a timeout', async () => {
    const http = new Agent();
    try {
      const result = await post(http, '/never', 150);
      expect(result.outcome).toBe('retryable');
      expect(result.errorClass).toBe('timeout');
    } finally {
      await http.destroy();
    }
  });

  it('when the work ends first, then its signal never aborts', async () => {
    let kept: AbortSignal | undefined;
    await withDeadline(30, async (signal) => {
      kept = signal;
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(kept!.aborted).toBe(false);
  });

  // The activity's context is what an attempt runs in; a timer left running after the send kept
  // every delivery's context on the worker's heap for the whole send timeout.
  it('when a send is over, then nothing of it holds the async context it ran in', async () => {
    const storage = new AsyncLocalStorage<{ delivery: string }>();
    const http = new Agent();
    let context: WeakRef<{ delivery: string }>;
    try {
      const result = await (() => {
        const store = { delivery: 'dlv_1' };
        context = new WeakRef(store);
        return storage.run(store, () => post(http, '/ok', 30_000));
      })();
      expect(result.outcome).toBe('succeeded');
    } finally {
      // The pool's socket was made in that context too: close it, as a worker's would be reused.
      await http.destroy();
    }
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    expect(context!.deref()).toBeUndefined();
  });
});
