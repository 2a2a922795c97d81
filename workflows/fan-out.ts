import {
  continueAsNew,
  ParentClosePolicy,
  proxyLocalActivities,
  startChild,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { createActivities } from '../activities';
import type { FanOutIn } from './definitions';
import { deliveryWorkflow } from './delivery';
import { deliverySearchAttributes } from './search-attribute-values';

type Activities = ReturnType<typeof createActivities>;

const { listDeliveryPage } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', maximumInterval: '10s' },
});

/** Children started per run before continuing as new, keeping each history small. */
const PAGE_SIZE = 250;

/**
 * Starts one DeliveryWorkflow per stored delivery of an event. Children outlive this workflow
 * (ABANDON), and their ids make a repeated start a no-op.
 */
export async function fanOutWorkflow(input: FanOutIn): Promise<void> {
  const page = await listDeliveryPage({ eventId: input.eventId, afterDeliveryId: input.afterDeliveryId, limit: PAGE_SIZE });
  await Promise.all(
    page.deliveries.map(async (d) => {
      const args = { tenantId: input.tenantId, deliveryId: d.deliveryId, eventId: input.eventId, endpointId: d.endpointId, eventType: input.eventType };
      try {
        await startChild(deliveryWorkflow, {
          workflowId: d.workflowId,
          args: [args],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          typedSearchAttributes: deliverySearchAttributes(args),
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }),
  );
  if (page.deliveries.length === PAGE_SIZE) {
    await continueAsNew<typeof fanOutWorkflow>({ ...input, afterDeliveryId: page.lastDeliveryId });
  }
}
