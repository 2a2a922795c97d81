import type { Caller } from '../domain/caller';
import { keyKindOf, signatureSchemeOf } from '../domain/signature-schemes';
import { getEndpoint } from '../db/endpoints-repo';
import { exportValidKeys } from '../db/signing-keys-repo';
import { AppError } from '../errors';
import { publicKeyOf } from '../security/ed25519';
import type { AppDeps } from './deps';

/**
 * The public keys a `standard-webhooks-v1a` endpoint's requests verify under now: the active key
 * first, then keys still in a rotation's grace period (requests carry one signature per key until
 * it ends). Public keys are no secret, so reading them needs `endpoints:read` and no audit; the
 * signing secrets are opened here only to derive them. An HMAC endpoint has none (409).
 */
export async function endpointPublicKeys({ db, box }: Pick<AppDeps, 'db' | 'box'>, caller: Caller, endpointId: string) {
  const endpoint = await getEndpoint(db, caller.tenantId, endpointId);
  const scheme = signatureSchemeOf(endpoint.scheme);
  if (keyKindOf(scheme) !== 'ed25519') {
    throw new AppError(409, 'no_public_key', `endpoint ${endpointId} signs with a shared secret (scheme ${scheme}); only standard-webhooks-v1a has public keys`);
  }
  const keys = await exportValidKeys(db, box, caller.tenantId, { type: 'endpoint', id: endpointId });
  return {
    endpoint_id: endpointId,
    scheme,
    keys: keys.map((k) => ({ key_id: k.id, public_key: publicKeyOf(k.secret), state: k.state, expires_at: k.expires_at })),
  };
}
