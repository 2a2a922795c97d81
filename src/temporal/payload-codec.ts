import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { ValueError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { AUTH_TAG_BYTES, parseKeyList, parseMasterKey } from '../security/secret-box';

/** Metadata `encoding` of a payload this codec encrypted. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = AUTH_TAG_BYTES;

const utf8 = (text: string) => Buffer.from(text, 'utf8');

/**
 * Encrypts every payload Temporal stores (workflow inputs and results, activity inputs and
 * results: response excerpts, signature headers) with AES-256-GCM, so the Temporal server and
 * anyone reading its database see ciphertext only. The whole payload (metadata and data) is
 * encrypted; the key id in clear lets old history be read after the key is rotated.
 */
export class EncryptionCodec implements PayloadCodec {
  readonly keyId: string;
  private readonly keys: Map<string, Buffer>;

  /** `current` encrypts; `previous` keys only decrypt (history written before a rotation). */
  constructor(private readonly current: Buffer, previous: Buffer[] = []) {
    this.keyId = codecKeyId(current);
    this.keys = new Map([current, ...previous].map((key) => [codecKeyId(key), key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.current, iv, { authTagLength: TAG_BYTES });
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID]: utf8(this.keyId) }, data: sealed };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (Buffer.from(payload.metadata?.encoding ?? []).toString() !== ENCRYPTED_ENCODING) return payload;
      const keyId = Buffer.from(payload.metadata?.[KEY_ID] ?? []).toString();
      const key = this.keys.get(keyId);
      if (!key) throw new ValueError(`payload encrypted with unknown key ${keyId}: add it to TEMPORAL_CODEC_PREVIOUS_KEYS`);
      const data = Buffer.from(payload.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError('encrypted payload is truncated');
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** Short public id of a codec key, stored in clear beside each encrypted payload. */
export function codecKeyId(key: Buffer): string {
  return createHash('sha256').update('temporal-payload-codec').update(key).digest('hex').slice(0, 16);
}

/** The codec from configuration, or null when payload encryption is off (no TEMPORAL_CODEC_KEY). */
export function payloadCodec(config: { TEMPORAL_CODEC_KEY?: string; TEMPORAL_CODEC_PREVIOUS_KEYS?: string }): EncryptionCodec | null {
  if (!config.TEMPORAL_CODEC_KEY) return null;
  return new EncryptionCodec(parseMasterKey(config.TEMPORAL_CODEC_KEY), parseKeyList(config.TEMPORAL_CODEC_PREVIOUS_KEYS));
}

/**
 * The data converter every client and worker of the service uses: the SDK's default JSON
 * conversion, then the codec when one is configured. One place, so all sides agree.
 */
export function dataConverter(config: Parameters<typeof payloadCodec>[0]): DataConverter {
  const codec = payloadCodec(config);
  return codec ? { payloadCodecs: [codec] } : {};
}
