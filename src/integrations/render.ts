import { createHash } from 'node:crypto';
import type { EndpointTemplate, SlackTemplate } from '../domain/endpoint';
import { placeholderAt, resolvePath, substitute, valueText } from './placeholders';

/**
 * A template could not be rendered for an event. `code` is the error class a delivery attempt
 * records; the only one is `body_too_large` (saved templates are valid, so size is all that an
 * event can break).
 */
export class TemplateRenderError extends Error {
  override name = 'TemplateRenderError';
  readonly code = 'body_too_large';
}

/** Collects output parts and stops as soon as they pass the cap, before a huge body is ever built. */
class CappedOutput {
  private readonly parts: string[] = [];
  private bytes = 0;
  constructor(private readonly maxBytes: number) {}

  put = (part: string): void => {
    this.bytes += Buffer.byteLength(part, 'utf8');
    if (this.bytes > this.maxBytes) throw new TemplateRenderError(`the rendered body is larger than ${this.maxBytes} bytes`);
    this.parts.push(part);
  };

  toString(): string {
    return this.parts.join('');
  }
}

/** A value in place of a whole JSON value: itself, `null` when missing. */
const jsonValue = (value: unknown): string => (value === undefined ? 'null' : JSON.stringify(value));

/** A value inside a JSON string: its text, JSON-escaped, without the quotes. */
const jsonText = (value: unknown): string => JSON.stringify(valueText(value)).slice(1, -1);

/** Index of the quote closing the JSON string opened at `quote`, or -1. */
function stringEnd(text: string, quote: number): number {
  for (let i = quote + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

/** True when the string ending at `end` is an object key (a `:` follows). */
function isKey(text: string, end: number): boolean {
  let i = end + 1;
  while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r') i++;
  return text[i] === ':';
}

/**
 * Renders a custom JSON template. The template is read as JSON text, never parsed and
 * re-serialized, so its layout, key order and numbers stay as written:
 *
 * - a string value that is exactly one placeholder (`"{{data.items}}"`), or a placeholder written
 *   bare where a value goes (`{{data.total}}`), becomes the JSON value itself (`null` if missing);
 * - a placeholder inside a longer string, or in an object key, becomes the value's text, JSON-escaped.
 *
 * So a valid template always renders valid JSON. Malformed input is copied as it is, which is how
 * the validator finds templates that are not JSON.
 */
export function renderCustomBody(template: string, envelope: unknown, maxBytes: number): string {
  return renderJsonTemplate(template, (path) => resolvePath(envelope, path), maxBytes);
}

/** {@link renderCustomBody} with the values given by `value(path)` (`undefined`: missing); the validator probes templates with it. */
export function renderJsonTemplate(template: string, value: (path: string) => unknown, maxBytes: number): string {
  const out = new CappedOutput(maxBytes);
  let i = 0;
  while (i < template.length) {
    const quote = template.indexOf('"', i);
    const open = template.indexOf('{{', i);
    if (open !== -1 && (quote === -1 || open < quote)) {
      out.put(template.slice(i, open));
      const p = placeholderAt(template, open);
      out.put(p.path === null ? p.raw : jsonValue(value(p.path)));
      i = p.end;
      continue;
    }
    if (quote === -1) {
      out.put(template.slice(i));
      break;
    }
    out.put(template.slice(i, quote));
    const end = stringEnd(template, quote);
    if (end === -1) {
      // Unterminated: copied without a closing quote, so the result stays invalid.
      out.put(template.slice(quote));
      break;
    }
    const raw = template.slice(quote + 1, end);
    const whole = raw.startsWith('{{') && !isKey(template, end) ? placeholderAt(raw, 0) : null;
    if (whole?.path && whole.end === raw.length) {
      out.put(jsonValue(value(whole.path)));
    } else {
      out.put('"');
      substitute(raw, (path) => jsonText(value(path)), out.put);
      out.put('"');
    }
    i = end + 1;
  }
  return out.toString();
}

/** Slack's control characters in inserted text, escaped as Slack documents (`&amp;`, `&lt;`, `&gt;`). */
export function slackEscape(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/**
 * Renders a Slack incoming-webhook body `{"text", "username"?, "icon_emoji"?}`. Values are inserted
 * as text with Slack's control characters escaped; the template's own text is kept as written,
 * so its links (`<https://…|label>`) and formatting work.
 */
export function renderSlackBody(template: SlackTemplate, envelope: unknown, maxBytes: number): string {
  const text = new CappedOutput(maxBytes);
  substitute(template.text, (path) => slackEscape(valueText(resolvePath(envelope, path))), text.put);
  const body = JSON.stringify({
    text: text.toString(),
    ...(template.username !== undefined ? { username: template.username } : {}),
    ...(template.icon_emoji !== undefined ? { icon_emoji: template.icon_emoji } : {}),
  });
  // JSON escaping can still lengthen the text past the cap.
  if (Buffer.byteLength(body, 'utf8') > maxBytes) throw new TemplateRenderError(`the rendered body is larger than ${maxBytes} bytes`);
  return body;
}

/** Renders a template over an event envelope. Pure: the same envelope and template give the same bytes. */
export function renderTemplate(template: EndpointTemplate, envelope: unknown, maxBytes: number): string {
  return template.kind === 'slack' ? renderSlackBody(template, envelope, maxBytes) : renderCustomBody(template.body, envelope, maxBytes);
}

/**
 * The exact bytes an endpoint receives for an event: the stored body as it is when the endpoint
 * has no template, else its template rendered over that body. Signing, sending and the test route
 * all go through here, so a signature always covers the bytes sent. Throws
 * {@link TemplateRenderError} when the rendering is over `maxBytes`.
 */
export function bodyForEndpoint(eventBody: string, template: EndpointTemplate | null, maxBytes: number): string {
  if (!template) return eventBody;
  return renderTemplate(template, JSON.parse(eventBody) as unknown, maxBytes);
}

/**
 * {@link bodyForEndpoint} for the delivery steps, which answer a body too large to send (it would
 * render the same on every try) rather than throw: the error comes back as the value.
 */
export function bodyOrRenderError(eventBody: string, template: EndpointTemplate | null, maxBytes: number): string | TemplateRenderError {
  try {
    return bodyForEndpoint(eventBody, template, maxBytes);
  } catch (err) {
    if (err instanceof TemplateRenderError) return err;
    throw err;
  }
}

/** SHA-256 (hex) of a body, so the send step can prove it sends the bytes the sign step signed. */
export function bodyDigest(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}
