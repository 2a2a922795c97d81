import type { AttemptOutcome } from '../domain/delivery';

/** 2xx succeeds; 408, 425, 429 and 5xx may succeed later; any other status will not. */
export function classifyStatus(status: number): AttemptOutcome {
  if (status >= 200 && status < 300) return 'succeeded';
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retryable';
  return 'failed';
}

/** Error class of a status that is not a success, as shown in delivery logs. */
export function statusErrorClass(status: number): string | null {
  if (status >= 200 && status < 300) return null;
  if (status >= 300 && status < 400) return 'redirect_refused';
  if (status === 429) return 'rate_limited';
  return status >= 500 ? 'http_5xx' : 'http_4xx';
}

const CODE_CLASSES: Record<string, string> = {
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  UND_ERR_SOCKET: 'connection_reset',
  ERR_TLS_CERT_ALTNAME_INVALID: 'tls',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls',
  CERT_HAS_EXPIRED: 'tls',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'tls',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'tls',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'tls',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'tls',
  EGRESS_BLOCKED: 'egress_blocked',
};

/** Error class of a failure to get a response at all (all retryable but `egress_blocked`). */
export function networkErrorClass(err: unknown): string {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const e = current as { name?: string; code?: string; cause?: unknown };
    if (e.name === 'TimeoutError') return 'timeout';
    if (e.code && CODE_CLASSES[e.code]) return CODE_CLASSES[e.code]!;
    current = e.cause;
  }
  return 'network';
}

/** Milliseconds asked for by a `Retry-After` header (seconds or HTTP date), or null. */
export function parseRetryAfter(value: string | string[] | undefined, now: Date): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return null;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now.getTime());
}
