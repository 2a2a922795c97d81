import type { ActivityDeps } from './deps';
import { makeDispatchStoredEvents } from './dispatch-stored-events';
import { makePurgeExpired } from './housekeeping';
import { createKeyActivities } from './keys';
import { makeDeliverAttempt } from './deliver-attempt';
import { createFifoActivities } from './fifo';
import { createRecoveryActivities } from './recovery';
import { makeListDeliveryPage } from './list-delivery-page';
import { makeLoadDeliveryPlan } from './load-delivery-plan';
import { makeRecordAttempt } from './record-attempt';
import { makeReleaseSendSlot } from './release-send-slot';
import { makePurgeRetention } from './retention';
import { makeSendWebhook } from './send-webhook';
import { makeSignRequest } from './sign-request';
import { makeDeleteTenantSchedules, makePurgeTenantData, makeStopTenantWorkflows } from './tenant-deletion';

export type { ActivityDeps } from './deps';

/** All activities, bound to the process's dependencies once, in the worker. */
export function createActivities(deps: ActivityDeps) {
  return {
    deliverAttempt: makeDeliverAttempt(deps),
    recordAttempt: makeRecordAttempt(deps),
    // The steps of deliveries started before the one-step attempt, kept so they replay and finish.
    loadDeliveryPlan: makeLoadDeliveryPlan(deps),
    signRequest: makeSignRequest(deps),
    sendWebhook: makeSendWebhook(deps),
    releaseSendSlot: makeReleaseSendSlot(deps),
    listDeliveryPage: makeListDeliveryPage(deps),
    purgeExpired: makePurgeExpired(deps),
    purgeRetention: makePurgeRetention(deps),
    dispatchStoredEvents: makeDispatchStoredEvents(deps),
    ...createFifoActivities(deps),
    ...createRecoveryActivities(deps),
    stopTenantWorkflows: makeStopTenantWorkflows(deps),
    deleteTenantSchedules: makeDeleteTenantSchedules(deps),
    purgeTenantData: makePurgeTenantData(deps),
    ...createKeyActivities(deps),
  };
}
