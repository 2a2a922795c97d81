import type { AttemptResult } from '../domain/delivery';
import type { StoredHeader } from '../domain/endpoint';
import { scrubUrl } from './endpoint-url';

/** What replaces a secret value found in a receiver's answer or an error message. */
export const REDACTED = '[redacted]';
/** Shorter values are not searched for: they would redact ordinary words. */
const MIN_SECRET_LENGTH = 6;

/** The secrets of one endpoint's request: its real URL (when sealed) and its sensitive header values. */
export interface RequestSecrets {
  url: string;
  /** The URL as shown (masked when it carries a secret). */
  shownUrl: string;
  values: string[];
}

/** The opened values of an endpoint's sensitive headers. */
export function sensitiveValues(stored: Record<string, StoredHeader>, opened: Record<string, string>): string[] {
  return Object.entries(stored)
    .filter(([, h]) => h.sensitive)
    .map(([name]) => opened[name] ?? '')
    .filter((v) => v.length >= MIN_SECRET_LENGTH);
}

/**
 * Text with the request's secrets taken out: a receiver that quotes the request in its error
 * answer (an `Authorization` header, the URL with its token), or an error message naming the URL,
 * must not put them into the delivery log, Temporal history or the API's answers.
 */
export function redactText(text: string | null, secrets: RequestSecrets): string | null {
  if (!text) return text;
  let out = secrets.url === secrets.shownUrl ? text : scrubUrl(text, secrets.url, secrets.shownUrl);
  for (const value of secrets.values) {
    out = out.split(value).join(REDACTED);
    // A Bearer or Basic credential is often echoed without its scheme word.
    const bare = value.replace(/^(Bearer|Basic|Token)\s+/i, '');
    if (bare !== value && bare.length >= MIN_SECRET_LENGTH) out = out.split(bare).join(REDACTED);
  }
  return out;
}

/** An attempt's result with the request's secrets taken out of its error message and excerpt. */
export function redactAttempt(result: AttemptResult, secrets: RequestSecrets): AttemptResult {
  return { ...result, errorMessage: redactText(result.errorMessage, secrets), responseExcerpt: redactText(result.responseExcerpt, secrets) };
}
