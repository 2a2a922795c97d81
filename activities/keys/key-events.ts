import { endpointKind } from '../../src/db/endpoints-repo';
import type { Db } from '../../src/db/knex';
import type { KeyScope } from '../../src/domain/keys';
import type { ActivityDeps } from '../deps';
import { emitOperationalEvent } from '../operational-events';
import type { KeysExpiringIn } from './types';

/**
 * Whether the keys of a scope are reported to operational endpoints: those of standard endpoints
 * and inbound sources are; an operational endpoint's own keys are not (its deliveries use them,
 * and usage-based rotation would then report to itself).
 */
export async function keyEventsWanted(db: Db, tenantId: string, scope: KeyScope): Promise<boolean> {
  if (scope.type !== 'endpoint') return true;
  return (await endpointKind(db, tenantId, scope.id)) === 'standard';
}

/** Sends `key.expiring`: keys in their grace period stop signing and verifying at `expiresAt`. */
export function makeNoticeKeysExpiring(deps: ActivityDeps) {
  return async function noticeKeysExpiring(input: KeysExpiringIn): Promise<void> {
    if (input.keyIds.length === 0 || !(await keyEventsWanted(deps.db, input.tenantId, input.scope))) return;
    await emitOperationalEvent(deps, {
      tenantId: input.tenantId,
      type: 'key.expiring',
      key: `key_expiring:${input.keyIds.join(',')}:${input.expiresAt}`,
      data: { scope_type: input.scope.type, scope_id: input.scope.id, key_ids: input.keyIds, expires_at: input.expiresAt },
    });
  };
}
