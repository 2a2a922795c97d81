import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line, wherever they appear in a logged object. */
export const REDACTED_PATHS = [
  'secret',
  '*.secret',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["idempotency-key"]',
  'req.headers["x-signature"]',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'token',
  '*.token',
  'masterKey',
  '*.masterKey',
  // Sealed values and the settings that hold keys, wherever a config or a row gets logged.
  'ciphertext',
  '*.ciphertext',
  'sealed',
  '*.sealed',
  'url_sealed',
  '*.url_sealed',
  ...['API_TOKEN', 'MASTER_KEY', 'MASTER_KEY_PREVIOUS', 'TEMPORAL_CODEC_KEY', 'TEMPORAL_CODEC_PREVIOUS_KEYS', 'TEMPORAL_API_KEY', 'JWT_SECRET', 'INTROSPECTION_CLIENT_SECRET', 'METRICS_TOKEN', 'DATABASE_URL'].flatMap(
    (name) => [name, `*.${name}`],
  ),
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
