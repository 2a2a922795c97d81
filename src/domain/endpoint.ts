/**
 * Payload filters of an endpoint: a field path (dotted) to a condition. Every condition must hold
 * for the endpoint to get the event. Checked by `src/services/filters.ts`.
 */
export type Filters = Record<string, unknown>;

/** A custom header as given: a plain value, or `{value?, sensitive}` (no value keeps the stored one). */
export type HeaderInput = string | { value?: string; sensitive: boolean };

/** A custom header as stored: plain, or sealed under the master key when sensitive. */
export interface StoredHeader {
  value?: string;
  sealed?: string;
  sensitive: boolean;
}

/** Slack's incoming-webhook body, rendered from `text` with `{{placeholders}}`. */
export interface SlackTemplate {
  kind: 'slack';
  text: string;
  username?: string;
  icon_emoji?: string;
}

/** A JSON body of the endpoint owner's shape, with `{{placeholders}}`. */
export interface CustomTemplate {
  kind: 'custom';
  body: string;
}

/** What an endpoint's body is rendered from (an integration); null: the stored event body as it is. */
export type EndpointTemplate = SlackTemplate | CustomTemplate;

/** Longest path segment shown as it is; longer ones are tokens more often than names. */
const SHOWN_SEGMENT_MAX = 24;

/**
 * How a receiver is named where operators look (the Temporal UI, logs): `host/path`, without the
 * scheme, credentials, query or fragment, and with any path segment that could be a token
 * (longer than 24 characters) shown as `…`. A URL marked sensitive shows its host only.
 */
export function displayTarget(url: string, sensitive = false): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'an invalid URL';
  }
  if (sensitive) return `${parsed.host}/…`;
  const path = parsed.pathname
    .split('/')
    .map((segment) => (segment.length > SHOWN_SEGMENT_MAX ? '…' : segment))
    .join('/');
  return `${parsed.host}${path === '/' ? '' : path}`.slice(0, 160);
}

/**
 * How an endpoint takes its deliveries: `unordered` (each as soon as it can, in parallel) or
 * `fifo` (in ingest order, one at a time: a delivery goes out once the one before it is done).
 */
export const ORDERINGS = ['unordered', 'fifo'] as const;
export type Ordering = (typeof ORDERINGS)[number];

/** What a FIFO line does when its head does not deliver (a dead letter, or cancelled): move on, or wait. */
export const ON_EXHAUSTED = ['skip', 'block'] as const;
export type OnExhausted = (typeof ON_EXHAUSTED)[number];
