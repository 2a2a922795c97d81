import { createHmac } from 'node:crypto';
import type { SignatureScheme } from '../domain/signature-schemes';
import { asymmetricSignature } from './ed25519';
import { newNonce, secretKeyBytes, xSignature } from './signing';

/**
 * Separator between the signatures of several valid keys (a rotation's grace period), for every
 * scheme: one space, active key first. Standard Webhooks specifies it; the others follow it.
 */
export const SIGNATURE_SEPARATOR = ' ';

/** A decrypted key as the signer needs it (held in memory inside an activity only). */
export interface SignKey {
  id: string;
  secret: string;
}

/** What one attempt is signed over. */
export interface SignInput {
  /** Stable across retries: the delivery id (`webhook-id` of Standard Webhooks). */
  messageId: string;
  /** The exact bytes sent as the request body. */
  body: string;
  now: Date;
  /** Fresh per attempt (x-signature only). */
  nonce?: string;
}

function keyBytes(key: SignKey): Buffer {
  const bytes = secretKeyBytes(key.secret);
  if (!bytes) throw new Error(`signing key ${key.id} is malformed`);
  return bytes;
}

/** Standard Webhooks' signature content: base64 HMAC-SHA256 of `${id}.${ts}.${body}`. */
export function standardSignature(key: Buffer, messageId: string, ts: number, body: string | Buffer): string {
  return createHmac('sha256', key).update(`${messageId}.${ts}.`).update(body).digest('base64');
}

/** The `sha256` scheme's signature content: hex HMAC-SHA256 of the body alone. */
export function sha256Signature(key: Buffer, body: string | Buffer): string {
  return createHmac('sha256', key).update(body).digest('hex');
}

/**
 * The signature headers of one attempt under `scheme`, one signature per key (active first).
 *
 * - `x-signature`: `x-ts`, `x-nonce`, `x-signature` (hex HMAC-SHA512 of `ts.nonce.body`), `x-key-id`.
 * - `standard-webhooks`: `webhook-id`, `webhook-timestamp`, `webhook-signature` (`v1,<base64>`).
 * - `sha256`: `x-webhook-signature` (`sha256=<hex>` of the body).
 * - `standard-webhooks-v1a`: the `webhook-*` headers, signed with ed25519 (`v1a,<base64>`); the
 *   keys are `whsk_` secrets.
 *
 * Several signatures are separated by {@link SIGNATURE_SEPARATOR}.
 */
export function signatureHeaders(scheme: SignatureScheme, keys: readonly SignKey[], input: SignInput): Record<string, string> {
  if (keys.length === 0) throw new Error('no signing key');
  const ts = Math.floor(input.now.getTime() / 1000);
  const join = (sign: (key: Buffer) => string) => keys.map((k) => sign(keyBytes(k))).join(SIGNATURE_SEPARATOR);
  switch (scheme) {
    case 'x-signature': {
      const nonce = input.nonce ?? newNonce();
      return {
        'x-ts': String(ts),
        'x-nonce': nonce,
        'x-signature': join((key) => xSignature(key, ts, nonce, input.body)),
        'x-key-id': keys.map((k) => k.id).join(SIGNATURE_SEPARATOR),
      };
    }
    case 'standard-webhooks':
      return {
        'webhook-id': input.messageId,
        'webhook-timestamp': String(ts),
        'webhook-signature': join((key) => `v1,${standardSignature(key, input.messageId, ts, input.body)}`),
      };
    case 'sha256':
      return { 'x-webhook-signature': join((key) => `sha256=${sha256Signature(key, input.body)}`) };
    case 'standard-webhooks-v1a':
      return {
        'webhook-id': input.messageId,
        'webhook-timestamp': String(ts),
        'webhook-signature': keys.map((k) => `v1a,${asymmetricSignature(k.secret, input.messageId, ts, input.body)}`).join(SIGNATURE_SEPARATOR),
      };
  }
}
