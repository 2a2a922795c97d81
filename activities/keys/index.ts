import type { ActivityDeps } from '../deps';
import { makeActivateKey } from './activate-key';
import { makeGenerateKey } from './generate-key';
import { makeNoticeKeysExpiring } from './key-events';
import { makeRecordKeyRotation } from './record-key-rotation';
import { makeRetireKeys } from './retire-keys';

export type * from './types';

/** The key rotation's activities: generate → activate → record → (notice) → retire. */
export function createKeyActivities(deps: ActivityDeps) {
  return {
    generateKey: makeGenerateKey(deps),
    activateKey: makeActivateKey(deps),
    recordKeyRotation: makeRecordKeyRotation(deps),
    retireKeys: makeRetireKeys(deps),
    noticeKeysExpiring: makeNoticeKeysExpiring(deps),
  };
}
