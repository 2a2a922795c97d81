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
