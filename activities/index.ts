import type { ActivityDeps } from './deps';
import { makeDispatchStoredEvents } from './dispatch-stored-events';
import { makePurgeExpired } from './housekeeping';
import { createKeyActivities } from './keys';
import { makeListDeliveryPage } from './list-delivery-page';
import { makeLoadDeliveryPlan } from './load-delivery-plan';
import { makeRecordAttempt } from './record-attempt';
import { makeReleaseSendSlot } from './release-send-slot';
import { makeSendWebhook } from './send-webhook';
import { makeSignRequest } from './sign-request';

export type { ActivityDeps } from './deps';

/** All activities, bound to the process's dependencies once, in the worker. */
export function createActivities(deps: ActivityDeps) {
  return {
    loadDeliveryPlan: makeLoadDeliveryPlan(deps),
    signRequest: makeSignRequest(deps),
    sendWebhook: makeSendWebhook(deps),
    recordAttempt: makeRecordAttempt(deps),
    releaseSendSlot: makeReleaseSendSlot(deps),
    listDeliveryPage: makeListDeliveryPage(deps),
    purgeExpired: makePurgeExpired(deps),
    dispatchStoredEvents: makeDispatchStoredEvents(deps),
    ...createKeyActivities(deps),
  };
}
