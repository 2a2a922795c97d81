import { releaseSendSlot as giveBack } from '../src/db/send-slots-repo';
import type { ActivityDeps } from './deps';
import type { ReleaseSlotIn } from './types';

/** Gives back the send slot of a delivery cancelled while it waited for it. */
export function makeReleaseSendSlot({ db }: ActivityDeps) {
  return async function releaseSendSlot(input: ReleaseSlotIn): Promise<boolean> {
    return giveBack(db, input.tenantId, input.endpointId, input.slotMicros);
  };
}
