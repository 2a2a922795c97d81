/**
 * The one error hierarchy. Everything the API answers with a 4xx or 5xx is an AppError; the error
 * middleware turns it into the envelope `{"ok":false,"err":code,"msg":message}`.
 */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: unknown) {
    super(422, 'validation_failed', message, details);
  }
}

export class NotFoundError extends AppError {
  constructor(resource: string, id: string) {
    super(404, 'not_found', `${resource} ${id} not found`);
  }
}

export class ConflictError extends AppError {
  constructor(message: string) {
    super(409, 'conflict', message);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'missing or invalid credentials') {
    super(401, 'unauthorized', message);
  }
}

/** Seconds a client is asked to wait (`Retry-After`) when a dependency is down. */
export const RETRY_AFTER_SECONDS = 5;

/** A dependency (the database, Temporal, an identity provider) is down: 503 with `Retry-After`. */
export class UnavailableError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds = RETRY_AFTER_SECONDS,
  ) {
    super(503, 'unavailable', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string) {
    super(403, 'forbidden', message);
  }
}
