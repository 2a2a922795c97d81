import type { HeaderInput, StoredHeader } from '../domain/endpoint';
import { ValidationError } from '../errors';
import type { SecretBox } from './secret-box';

const context = (endpointId: string, name: string) => `header:${endpointId}:${name.toLowerCase()}`;

/**
 * Turns request headers into stored ones: sensitive values are sealed. `{sensitive: true}` with no
 * value keeps the value already stored under that name.
 */
export function sealHeaders(
  box: SecretBox,
  endpointId: string,
  given: Record<string, HeaderInput>,
  existing: Record<string, StoredHeader> = {},
): Record<string, StoredHeader> {
  const out: Record<string, StoredHeader> = {};
  for (const [name, raw] of Object.entries(given)) {
    const entry = typeof raw === 'string' ? { value: raw, sensitive: false } : raw;
    if (entry.value === undefined) {
      const kept = Object.entries(existing).find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
      if (!entry.sensitive || !kept?.sealed) {
        throw new ValidationError(`header ${name} needs a value`, [{ path: `body.headers.${name}`, message: 'needs a value' }]);
      }
      out[name] = kept;
      continue;
    }
    out[name] = entry.sensitive
      ? { sealed: box.seal(entry.value, context(endpointId, name)), sensitive: true }
      : { value: entry.value, sensitive: false };
  }
  return out;
}

/** Public view: sensitive values are never returned. */
export function publicHeaders(stored: Record<string, StoredHeader>): Record<string, { value?: string; sensitive: boolean }> {
  return Object.fromEntries(
    Object.entries(stored).map(([name, h]) => [name, h.sensitive ? { sensitive: true } : { value: h.value, sensitive: false }]),
  );
}

/** Plain header values to send (inside activities only). */
export function openHeaders(box: SecretBox, endpointId: string, stored: Record<string, StoredHeader>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(stored).map(([name, h]) => [name, h.sealed ? box.open(h.sealed, context(endpointId, name)) : (h.value ?? '')]),
  );
}

/** Stored headers with every sealed value under the current master key (key rotation). */
export function resealHeaders(box: SecretBox, endpointId: string, stored: Record<string, StoredHeader>): Record<string, StoredHeader> {
  return Object.fromEntries(
    Object.entries(stored).map(([name, h]) => [name, h.sealed ? { ...h, sealed: box.reseal(h.sealed, context(endpointId, name)) } : h]),
  );
}
