/** The signature schemes an endpoint can choose (`endpoints.scheme`); the first is the default. */
export const SIGNATURE_SCHEMES = ['x-signature', 'standard-webhooks', 'sha256'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

export const DEFAULT_SIGNATURE_SCHEME: SignatureScheme = 'x-signature';

export function isSignatureScheme(value: string): value is SignatureScheme {
  return (SIGNATURE_SCHEMES as readonly string[]).includes(value);
}

/** The scheme a stored endpoint signs with (the default for a value this version does not know). */
export function signatureSchemeOf(stored: string | null | undefined): SignatureScheme {
  return stored && isSignatureScheme(stored) ? stored : DEFAULT_SIGNATURE_SCHEME;
}
