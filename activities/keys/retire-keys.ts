import { retireKeys as retire } from '../../src/db/signing-keys-repo';
import type { ActivityDeps } from '../deps';
import type { RetireKeysIn } from './types';

/** Ends the grace period: the old keys neither sign nor verify any more. */
export function makeRetireKeys({ db, log }: ActivityDeps) {
  return async function retireKeys(input: RetireKeysIn): Promise<{ retired: number }> {
    const retired = await retire(db, input.tenantId, input.scope, input.keyIds);
    log.info({ tenantId: input.tenantId, scope: input.scope, keyIds: input.keyIds, retired }, 'keys retired');
    return { retired };
  };
}
