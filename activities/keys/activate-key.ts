import { activatePendingKey, type ActivateOut } from '../../src/db/signing-keys-repo';
import type { ActivityDeps } from '../deps';
import type { ActivateKeyIn } from './types';

/** The new key becomes active; the old one verifies and co-signs until its grace expiry. */
export function makeActivateKey({ db, log }: ActivityDeps) {
  return async function activateKey(input: ActivateKeyIn): Promise<ActivateOut> {
    const out = await activatePendingKey(db, input.tenantId, input.scope, input.keyId, input.graceSeconds, input.expectedActiveKeyId);
    log.info({ tenantId: input.tenantId, scope: input.scope, keyId: input.keyId, ...out }, 'key activation');
    return out;
  };
}
