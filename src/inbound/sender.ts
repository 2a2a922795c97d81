import { createHmac, randomBytes } from 'node:crypto';
import { request } from 'undici';
import { withDeadline } from '../http/deadline';
import { secretKeyBytes } from '../security/signing';

export interface InboundSignIn {
  /** The source's `whsec_…` secret. */
  secret: string;
  /** The exact bytes that will be sent. */
  body: string | Buffer;
  /** Unix seconds; defaults to now. */
  ts?: number;
  /** Defaults to 24 random bytes, base64url. */
  nonce?: string;
}

/** Headers a partner sends: `x-ts`, `x-nonce`, `x-signature` (hex HMAC-SHA512 over `ts.nonce.body`). */
export function signInbound(input: InboundSignIn): Record<'x-ts' | 'x-nonce' | 'x-signature', string> {
  const key = secretKeyBytes(input.secret);
  if (!key) throw new Error('the secret must be whsec_ followed by base64 of 24 to 64 bytes');
  const ts = input.ts ?? Math.floor(Date.now() / 1000);
  const nonce = input.nonce ?? randomBytes(24).toString('base64url');
  const signature = createHmac('sha512', key).update(`${ts}.${nonce}.`).update(input.body).digest('hex');
  return { 'x-ts': String(ts), 'x-nonce': nonce, 'x-signature': signature };
}

export interface InboundSendIn extends InboundSignIn {
  /** Full URL: `https://host/webhook/in` or `https://host/webhook/guards/<handler>`. */
  url: string;
  sourceId?: string;
  keyId?: string;
  timeoutMs?: number;
}

/** Signs and POSTs one inbound webhook exactly as the guard expects; answers status and JSON body. */
export async function sendInbound(input: InboundSendIn): Promise<{ status: number; body: unknown; headers: Record<string, string> }> {
  if (!input.sourceId && !input.keyId) throw new Error('give sourceId or keyId');
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...signInbound(input),
    ...(input.sourceId ? { 'x-source-id': input.sourceId } : {}),
    ...(input.keyId ? { 'x-key-id': input.keyId } : {}),
  };
  const { res, text } = await withDeadline(input.timeoutMs ?? 10_000, async (signal) => {
    const res = await request(input.url, { method: 'POST', headers, body: input.body, signal });
    return { res, text: await res.body.text() };
  });
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: return the text
  }
  return { status: res.statusCode, body, headers };
}
