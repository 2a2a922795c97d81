import { continueAsNew, ParentClosePolicy, proxyLocalActivities, startChild } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { deliveryDisplay, deliveryInput, deliveryStartOptions, endpointTarget, type FanOutIn } from '../src/temporal/delivery-workflows';
import { ignoreAlreadyStarted } from '../src/temporal/idempotent-start';
import { deliveryWorkflow } from './delivery';

type Activities = ReturnType<typeof createActivities>;

const { listDeliveryPage, wakeSequencers } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', maximumInterval: '10s' },
});

/** Children started per run before continuing as new, keeping each history small. */
const PAGE_SIZE = 250;

/**
 * Starts one DeliveryWorkflow per stored delivery of an event. Children outlive this workflow
 * (ABANDON), and their ids make a repeated start a no-op. A delivery in a FIFO line is left to
 * its endpoint's sequencer, which this wakes.
 */
export async function fanOutWorkflow(input: FanOutIn): Promise<void> {
  const page = await listDeliveryPage({ tenantId: input.tenantId, eventId: input.eventId, afterDeliveryId: input.afterDeliveryId, limit: PAGE_SIZE });
  const lines = page.deliveries.filter((d) => d.sequence !== undefined && d.sequence !== null).map((d) => d.endpointId);
  if (lines.length > 0) await wakeSequencers({ tenantId: input.tenantId, endpointIds: lines });
  await Promise.all(
    page.deliveries.filter((d) => d.sequence === undefined || d.sequence === null).map((d) => {
      const child = deliveryInput(input, { ...d, target: d.endpoint && endpointTarget(d.endpoint) });
      return startChild(deliveryWorkflow, {
        ...deliveryStartOptions(child, 'first', d.endpoint && deliveryDisplay(child, d.endpoint)),
        parentClosePolicy: ParentClosePolicy.ABANDON,
      }).catch(ignoreAlreadyStarted);
    }),
  );
  if (page.deliveries.length === PAGE_SIZE) {
    await continueAsNew<typeof fanOutWorkflow>({ ...input, afterDeliveryId: page.lastDeliveryId });
  }
}
