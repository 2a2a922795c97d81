import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import type { ClientCertificate } from '../security/client-tls';
import { guardedLookup, type EgressPolicy } from '../security/egress';

/** How outbound connections are made: the egress policy, and an HTTP CONNECT proxy when set. */
export interface OutboundOptions {
  egress: EgressPolicy;
  connectTimeoutMs: number;
  keepAliveTimeoutMs?: number;
  /** `EGRESS_PROXY_URL`: every delivery is tunnelled through this proxy (a fixed egress IP). */
  proxyUrl?: string;
}

/** What of an endpoint shapes its TLS: a client certificate (mutual TLS) and a CA bundle (pinning). */
export interface EndpointTls {
  client: ClientCertificate | null;
  /** PEM: only these CAs are trusted for the receiver's certificate (not the system's). */
  ca: string | null;
}

/**
 * A dispatcher for outbound webhooks. Without a proxy, an Agent whose sockets connect only where
 * the egress policy allows (names checked on resolution). With one, a ProxyAgent that tunnels
 * every request (http too) with CONNECT: the proxy resolves the destination, so the caller checks
 * it first ({@link checkResolvedDestination} in `postWebhook`).
 */
export function outboundDispatcher(options: OutboundOptions, tls: EndpointTls | null = null): Dispatcher {
  const tlsOptions = {
    ...(tls?.client ? { cert: tls.client.cert, key: tls.client.key } : {}),
    ...(tls?.ca ? { ca: tls.ca } : {}),
  };
  const keepAliveTimeout = options.keepAliveTimeoutMs ?? 10_000;
  if (options.proxyUrl) {
    return new ProxyAgent({
      uri: options.proxyUrl,
      keepAliveTimeout,
      proxyTls: { timeout: options.connectTimeoutMs },
      requestTls: { timeout: options.connectTimeoutMs, ...tlsOptions },
    });
  }
  return new Agent({ connect: { timeout: options.connectTimeoutMs, lookup: guardedLookup(options.egress), ...tlsOptions }, keepAliveTimeout });
}

/** An endpoint's TLS settings as stored: the sealed certificate and the CA bundle. */
export interface StoredEndpointTls {
  sealedClient: string | null;
  ca: string | null;
}

/** Endpoints with their own TLS kept at once; past this, the least recently used is closed. */
const MAX_ENDPOINT_DISPATCHERS = 256;

/**
 * The worker's dispatchers: one shared by every endpoint without TLS settings of its own, and
 * one per endpoint that has a client certificate or a CA bundle (its connections cannot be
 * shared), cached by endpoint and settings so a change makes a new one and the certificate is
 * opened once per dispatcher, not per attempt. An evicted dispatcher closes once its requests end.
 */
export class OutboundDispatchers {
  readonly shared: Dispatcher;
  readonly proxied: boolean;
  private readonly perEndpoint = new LRUCache<string, Dispatcher>({
    max: MAX_ENDPOINT_DISPATCHERS,
    dispose: (dispatcher) => void dispatcher.close().catch(() => undefined),
  });

  constructor(private readonly options: OutboundOptions) {
    this.shared = outboundDispatcher(options);
    this.proxied = options.proxyUrl !== undefined;
  }

  /** The dispatcher for an endpoint; `open` unseals its client certificate when one is needed. */
  forEndpoint(endpointId: string, stored: StoredEndpointTls, open: (sealed: string) => ClientCertificate): Dispatcher {
    if (stored.sealedClient === null && stored.ca === null) return this.shared;
    const version = createHash('sha256').update(stored.sealedClient ?? '').update('\0').update(stored.ca ?? '').digest('base64url');
    const key = `${endpointId}:${version}`;
    let dispatcher = this.perEndpoint.get(key);
    if (!dispatcher) {
      dispatcher = outboundDispatcher(this.options, { client: stored.sealedClient ? open(stored.sealedClient) : null, ca: stored.ca });
      this.perEndpoint.set(key, dispatcher);
    }
    return dispatcher;
  }

  async close(): Promise<void> {
    const all = [this.shared, ...this.perEndpoint.values()];
    this.perEndpoint.clear();
    await Promise.all(all.map((d) => d.close().catch(() => undefined)));
  }
}
