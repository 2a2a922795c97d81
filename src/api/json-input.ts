import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { AppError, ValidationError } from '../errors';

/**
 * Checks every JSON body and query string once, at the edge, before any route reads them: what
 * no field may hold, whatever its schema. Postgres refuses U+0000 in text and JSON; a lone UTF-16
 * surrogate is not Unicode text (Postgres refuses it in JSON, and UTF-8 encoding would silently
 * replace it); JSON nested deeper than {@link MAX_JSON_DEPTH} is refused before anything
 * recursive (serializing, matching, schema checks) runs out of stack on it; and `__proto__` /
 * `constructor` keys, which JavaScript objects silently drop or misread, are refused instead of
 * being changed.
 */
export const MAX_JSON_DEPTH = 64;

/** Keys refused anywhere in a JSON body: copying them into an object drops or corrupts them. */
export const REFUSED_KEYS: readonly string[] = ['__proto__', 'constructor'];

const MAX_PROBLEMS = 20;

export interface InputProblem {
  path: string;
  message: string;
}

/** Why `text` cannot be stored as is, or null. */
export function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain U+0000 (NUL)';
  // A high surrogate not followed by a low one, or a low one not preceded by a high one.
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)) return 'must be Unicode text (a lone UTF-16 surrogate is not)';
  return null;
}

/** A key as a path segment: printable, short. */
const segment = (key: string) => (key.length > 64 ? `${key.slice(0, 64)}…` : key).replace(/[\p{Cc}\p{Cs}]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * Every problem of a parsed JSON value (or a parsed query), walked without recursion: the values
 * are the client's, so their depth must not decide ours. At most 20 are listed.
 */
export function jsonProblems(value: unknown, root: string): InputProblem[] {
  const problems: InputProblem[] = [];
  const stack: Array<{ value: unknown; path: string; depth: number; field: string }> = [{ value, path: root, depth: 0, field: root }];
  while (stack.length > 0 && problems.length < MAX_PROBLEMS) {
    const at = stack.pop()!;
    if (typeof at.value === 'string') {
      const problem = textProblem(at.value);
      if (problem) problems.push({ path: at.path, message: problem });
      continue;
    }
    if (typeof at.value !== 'object' || at.value === null) continue;
    if (at.depth >= MAX_JSON_DEPTH) {
      // The field the deep value sits in: the full path of a deep value is as long as it is deep.
      problems.push({ path: at.field, message: `is nested deeper than ${MAX_JSON_DEPTH} levels` });
      continue;
    }
    const isArray = Array.isArray(at.value);
    for (const key of Object.keys(at.value)) {
      const path = `${at.path}.${segment(key)}`;
      if (!isArray) {
        if (REFUSED_KEYS.includes(key)) {
          problems.push({ path, message: `the key ${key} is not accepted anywhere (JavaScript objects cannot hold it faithfully)` });
          continue;
        }
        const problem = textProblem(key);
        if (problem) {
          problems.push({ path: at.path, message: `a key ${problem}` });
          continue;
        }
      }
      stack.push({ value: (at.value as Record<string, unknown>)[key], path, depth: at.depth + 1, field: at.depth === 0 ? path : at.field });
    }
  }
  return problems;
}

/** Throws a 422 listing `problems`, if any. */
export function assertNoProblems(problems: InputProblem[]): void {
  if (problems.length === 0) return;
  const summary = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  throw new ValidationError(`invalid input: ${summary}`, problems);
}

/**
 * `express.json`'s `verify`: a JSON body must be UTF-8 (RFC 8259), and its bytes valid UTF-8;
 * otherwise body-parser would decode replacement characters into it without a word.
 */
export function verifyUtf8(_req: IncomingMessage, _res: unknown, bytes: Buffer, encoding: string | null): void {
  if (encoding !== null && encoding.toLowerCase() !== 'utf-8') {
    throw new AppError(415, 'unsupported_charset', 'a JSON body must be UTF-8');
  }
  if (!isUtf8(bytes)) throw new AppError(400, 'invalid_json', 'request body is not valid UTF-8');
}

/**
 * Query parameters whose percent-encoding is not UTF-8: the query parser would decode them into
 * replacement characters (or keep `%ZZ` as is) without a word.
 */
export function queryEncodingProblems(url: string): InputProblem[] {
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  const problems: InputProblem[] = [];
  for (const pair of query.split('&')) {
    const [name = '', value = ''] = pair.split(/=(.*)/s);
    for (const part of [name, value]) {
      try {
        decodeURIComponent(part.replace(/\+/g, ' '));
      } catch {
        problems.push({ path: `query.${segment(name).slice(0, 64)}`, message: 'must be percent-encoded UTF-8' });
        break;
      }
    }
    if (problems.length >= MAX_PROBLEMS) break;
  }
  return problems;
}

/** After the body parser: the query string and the JSON body pass {@link jsonProblems}, else 422. */
export const checkJsonInput: RequestHandler = (req, _res, next) => {
  try {
    const query = queryEncodingProblems(req.originalUrl);
    assertNoProblems([...query, ...(query.length > 0 ? [] : jsonProblems(req.query, 'query')), ...(req.body === undefined ? [] : jsonProblems(req.body, 'body'))]);
    next();
  } catch (err) {
    next(err);
  }
};
