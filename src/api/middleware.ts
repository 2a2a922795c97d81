import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { AppError, ValidationError } from '../errors';
import type { Logger } from '../logger';

/** Success envelope. */
export function ok(res: Response, data: unknown, status = 200): void {
  res.status(status).json({ ok: true, data });
}

/** Parses input with a schema; failures become a 422 naming every bad field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params'): z.infer<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
    ...(issue.code === 'unrecognized_keys' ? { keys: issue.keys } : {}),
  }));
  const summary = details.map((d) => `${d.path}: ${d.message}${'keys' in d ? ` (${d.keys!.join(', ')})` : ''}`).join('; ');
  throw new ValidationError(`invalid ${where}: ${summary}`, details);
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

/** The one error middleware: AppError → its status; parser errors → 4xx; anything else → 500. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
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
