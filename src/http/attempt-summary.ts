import { STATUS_CODES } from 'node:http';
import type { AttemptResult } from '../domain/delivery';

/**
 * An attempt in words, as the Web UI shows it: what was sent where and what came back, e.g.
 * `POST hooks.example.com/orders answered 503 Service Unavailable in 12 ms`. No secrets: the
 * target is the display form of the URL, and the receiver's body is not quoted.
 */
export function attemptSummary(target: string, result: AttemptResult): string {
  if (result.responseStatus !== null) {
    const text = STATUS_CODES[result.responseStatus];
    return `POST ${target} answered ${result.responseStatus}${text ? ` ${text}` : ''} in ${result.durationMs} ms`;
  }
  if (result.durationMs === 0 && result.errorClass) return `not sent to ${target}: ${result.errorClass.replace(/_/g, ' ')}`;
  return `POST ${target} got no answer (${(result.errorClass ?? 'network').replace(/_/g, ' ')}) after ${result.durationMs} ms`;
}
