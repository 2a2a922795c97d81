/** The signature schemes an endpoint can choose (`endpoints.scheme`); the first is the default. */
export const SIGNATURE_SCHEMES = ['x-signature', 'standard-webhooks', 'sha256', 'standard-webhooks-v1a'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

export const DEFAULT_SIGNATURE_SCHEME: SignatureScheme = 'x-signature';

/**
 * What a scheme's keys are: `hmac` (a shared `whsec_` secret) or `ed25519` (a `whsk_` signing
 * secret whose `whpk_` public key is all a receiver holds). A keyring holds keys of one kind.
 */
export type KeyKind = 'hmac' | 'ed25519';

/** The schemes signed with HMAC over a shared secret. */
export const HMAC_SCHEMES = SIGNATURE_SCHEMES.filter((s) => s !== 'standard-webhooks-v1a');

export function keyKindOf(scheme: SignatureScheme): KeyKind {
  return scheme === 'standard-webhooks-v1a' ? 'ed25519' : 'hmac';
}

export function isSignatureScheme(value: string): value is SignatureScheme {
  return (SIGNATURE_SCHEMES as readonly string[]).includes(value);
}

/** The scheme a stored endpoint signs with (the default for a value this version does not know). */
export function signatureSchemeOf(stored: string | null | undefined): SignatureScheme {
  return stored && isSignatureScheme(stored) ? stored : DEFAULT_SIGNATURE_SCHEME;
}
