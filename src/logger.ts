import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line, wherever they appear in a logged object. */
export const REDACTED_PATHS = [
  'secret',
  '*.secret',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["idempotency-key"]',
  'req.headers["x-signature"]',
  'password',
  '*.password',
  'token',
  '*.token',
  'masterKey',
];

/** Creates the process logger. Children bind request, delivery and workflow ids. */
export function createLogger(level: string, name = 'webhooks', destination?: DestinationStream): Logger {
  return pino(
    {
    name,
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
