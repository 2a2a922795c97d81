import { insertPendingKey } from '../../src/db/signing-keys-repo';
import { generateSecret } from '../../src/security/signing';
import type { ActivityDeps } from '../deps';
import type { GenerateKeyIn } from './types';

/**
 * Generates key material with the CSPRNG and stores it encrypted as `pending`. Only the id goes
 * back to the workflow, so the secret never enters history. A retry keeps the first material.
 */
export function makeGenerateKey({ db, box }: ActivityDeps) {
  return async function generateKey(input: GenerateKeyIn): Promise<{ keyId: string }> {
    await insertPendingKey(db, box, input.tenantId, input.scope, input.keyId, generateSecret());
    return { keyId: input.keyId };
  };
}
