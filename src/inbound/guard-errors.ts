import { AppError } from '../errors';

/** Every way the inbound guard refuses a request: code → HTTP status. */
export const GUARD_ERRORS = {
  missing_x_ts: 400,
  missing_x_nonce: 400,
  missing_x_signature: 400,
  missing_source: 400,
  invalid_x_ts: 400,
  invalid_x_nonce: 400,
  invalid_x_signature: 400,
  invalid_json: 400,
  timestamp_too_old: 401,
  timestamp_in_future: 401,
  unknown_source: 401,
  unknown_key: 401,
  bad_signature: 401,
  handler_not_allowed: 403,
  tenant_disabled: 403,
  unknown_handler: 404,
  replayed_nonce: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid_handler_input: 422,
  rate_limited: 429,
} as const;
export type GuardErrorCode = keyof typeof GUARD_ERRORS;

export class GuardError extends AppError {
  constructor(readonly guardCode: GuardErrorCode, message: string, details?: unknown) {
    super(GUARD_ERRORS[guardCode], guardCode, message, details);
  }
}
