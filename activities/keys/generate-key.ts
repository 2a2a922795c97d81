import { keyringKind } from '../../src/db/endpoints-repo';
import { insertPendingKey } from '../../src/db/signing-keys-repo';
import { generateSecretOf } from '../../src/security/signing';
import type { ActivityDeps } from '../deps';
import type { GenerateKeyIn } from './types';

/**
 * Generates key material with the CSPRNG and stores it encrypted as `pending`. Only the id goes
 * back to the workflow, so the secret never enters history. A retry keeps the first material.
 * The key is of the keyring's kind: ed25519 for a `standard-webhooks-v1a` endpoint, else HMAC.
 */
export function makeGenerateKey({ db, box }: ActivityDeps) {
  return async function generateKey(input: GenerateKeyIn): Promise<{ keyId: string }> {
    const kind = await keyringKind(db, input.tenantId, input.scope);
    await insertPendingKey(db, box, input.tenantId, input.scope, input.keyId, generateSecretOf(kind));
    return { keyId: input.keyId };
  };
}
