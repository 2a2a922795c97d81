import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { isConnectionError } from '../db/knex';
import { AppError, RETRY_AFTER_SECONDS, UnavailableError, ValidationError } from '../errors';
import { isTemporalUnavailable } from '../temporal/client';
import type { Logger } from '../logger';

/** Success envelope. */
export function ok(res: Response, data: unknown, status = 200): void {
  res.status(status).json({ ok: true, data });
}

/** One bad field: where it is (`body.retry_config.tries`) and what is wrong with it. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * Zod's issues as one `{path, message}` per bad field. Zod reports unknown keys of a `.strict()`
 * object once, at the object; each key gets its own entry here, with a path ending in the key.
 */
export function fieldErrors(issues: readonly z.core.$ZodIssue[], root: string): FieldError[] {
  const at = (path: readonly PropertyKey[]) => [root, ...path.map(String)].join('.');
  return issues.flatMap((issue): FieldError[] => {
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: at([...issue.path, key]), message: 'unrecognized key' }));
    if (issue.code === 'invalid_key') return [{ path: at(issue.path), message: `invalid key: ${issue.issues[0]?.message ?? issue.message}` }];
    return [{ path: at(issue.path), message: issue.message }];
  });
}

/** Parses input with a schema; failures become a 422 naming every bad field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params'): z.infer<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const details = fieldErrors(parsed.error.issues, where);
  throw new ValidationError(`invalid ${where}: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
}

/** Bodies must be JSON: anything else is a 415 before any handler runs. */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  const hasBody = req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH';
  // A chunked body has no Content-Length, and is a body all the same.
  const sent = req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? 0) > 0;
  if (hasBody && sent && !req.is('application/json')) {
    next(new AppError(415, 'unsupported_media_type', 'request body must be application/json'));
    return;
  }
  next();
};

const BODY_PARSER_ERRORS: Record<string, [number, string, string]> = {
  'entity.parse.failed': [400, 'invalid_json', 'request body is not valid JSON'],
  'entity.too.large': [413, 'payload_too_large', 'request body is too large'],
  'encoding.unsupported': [415, 'unsupported_encoding', 'unsupported content encoding'],
  'charset.unsupported': [415, 'unsupported_charset', 'unsupported charset'],
  'request.aborted': [400, 'request_aborted', 'request aborted'],
};

/** The 4xx status an error from Express or its parsers carries, if any. */
function clientErrorStatus(err: unknown): number | null {
  const status = (err as { status?: unknown; statusCode?: unknown })?.status ?? (err as { statusCode?: unknown })?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : null;
}

/**
 * A dependency that is down, as the 503 the client should see: the database or Temporal could not
 * be reached (a restart, a failover, an exhausted pool). Null for any other error.
 */
export function dependencyDown(err: unknown): UnavailableError | null {
  if (err instanceof UnavailableError) return err;
  if (isConnectionError(err)) return new UnavailableError('the database is unavailable; retry shortly');
  if (isTemporalUnavailable(err)) return new UnavailableError('Temporal is unavailable; retry shortly');
  return null;
}

/**
 * The one error middleware: AppError → its status; parser errors → 4xx; a dependency that is
 * down → 503 `unavailable` with `Retry-After`; anything else → 500.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (caught: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const down = caught instanceof AppError && !(caught instanceof UnavailableError) ? null : dependencyDown(caught);
    if (down && down !== caught) log.warn({ err: caught }, down.message);
    const err = down ?? caught;
    if (err instanceof AppError && err.status === 503) {
      res.setHeader('retry-after', String(err instanceof UnavailableError ? err.retryAfterSeconds : RETRY_AFTER_SECONDS));
    }
    let status = 500;
    let body: Record<string, unknown> = { ok: false, err: 'internal_error', msg: 'internal error' };
    const parserError = (err as { type?: string })?.type;
    if (err instanceof AppError) {
      status = err.status;
      body = { ok: false, err: err.code, msg: err.message, ...(err.details ? { details: err.details } : {}) };
    } else if (parserError && BODY_PARSER_ERRORS[parserError]) {
      const [code, name, msg] = BODY_PARSER_ERRORS[parserError]!;
      status = code;
      body = { ok: false, err: name, msg };
    } else if (clientErrorStatus(err) !== null) {
      // Express's own 4xx errors (a path that cannot be percent-decoded, …).
      status = clientErrorStatus(err)!;
      body = { ok: false, err: 'bad_request', msg: (err as Error).message || 'bad request' };
    } else {
      log.error({ err }, 'unhandled error');
    }
    res.status(status).json(body);
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new AppError(404, 'route_not_found', `no route for ${req.method} ${req.path}`));
};
