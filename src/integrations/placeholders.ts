import { lookupPath } from '../domain/json-path';

/** A placeholder's path: dotted segments of letters, digits and `_` (`type`, `data.order.id`, `data.items.0`). */
const PATH = /^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*$/;

/** Longest placeholder path accepted. */
export const PLACEHOLDER_PATH_MAX = 256;

/** One `{{ path }}` of a text: `start` at its `{{`, `end` just after its `}}` (or the text's end when unclosed). */
export interface Placeholder {
  start: number;
  end: number;
  /** The trimmed path; null when the placeholder is unclosed or does not hold a dotted path. */
  path: string | null;
  /** The placeholder as written, braces included. */
  raw: string;
  closed: boolean;
}

/** The placeholder opened by the `{{` at `open`: the next `}}` closes it. */
export function placeholderAt(text: string, open: number): Placeholder {
  const close = text.indexOf('}}', open + 2);
  const end = close === -1 ? text.length : close + 2;
  const path = close === -1 ? '' : text.slice(open + 2, close).trim();
  const valid = path.length > 0 && path.length <= PLACEHOLDER_PATH_MAX && PATH.test(path);
  return { start: open, end, path: valid ? path : null, raw: text.slice(open, end), closed: close !== -1 };
}

/**
 * Every placeholder of a text, in order. Each `{{` opens one (there is no escape for a literal
 * `{{`), so a stray or malformed one is reported instead of being sent as it is.
 */
export function findPlaceholders(text: string): Placeholder[] {
  const found: Placeholder[] = [];
  for (let open = text.indexOf('{{'); open !== -1; ) {
    const placeholder = placeholderAt(text, open);
    found.push(placeholder);
    open = text.indexOf('{{', placeholder.end);
  }
  return found;
}

/** What is wrong with a text's placeholders, one message each (empty when all are well formed). */
export function placeholderProblems(text: string): string[] {
  return findPlaceholders(text)
    .filter((p) => p.path === null)
    .map((p) =>
      p.closed
        ? `${p.raw.slice(0, 80)} is not a dotted path of letters, digits and _ (like {{data.order.id}})`
        : `{{ at offset ${p.start} is not closed by }}`,
    );
}

/**
 * The value a path names in an event envelope `{id, type, timestamp, lang, data}`; `undefined`
 * when a segment is missing. The same lookup the payload filters use.
 */
export function resolvePath(envelope: unknown, path: string): unknown {
  const { found, value } = lookupPath(envelope, path);
  return found ? value : undefined;
}

/** A value as text: strings as they are, `null` and missing values as nothing, anything else as compact JSON. */
export function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  return JSON.stringify(value);
}

/**
 * Copies `text` into `put`, each well-formed placeholder replaced by `replace(path)`; malformed
 * ones are copied as written (only unvalidated text has them).
 */
export function substitute(text: string, replace: (path: string) => string, put: (part: string) => void): void {
  let at = 0;
  for (const p of findPlaceholders(text)) {
    put(text.slice(at, p.start));
    put(p.path === null ? p.raw : replace(p.path));
    at = p.end;
  }
  put(text.slice(at));
}
