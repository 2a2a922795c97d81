import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy, type SearchAttributePair } from '@temporalio/common';
import { ignoreAlreadyStarted } from './idempotent-start';
import { DeliveryStatus, EndpointId, EventId, EventType, TenantId } from './search-attributes';

/**
 * A delivery's identity, in one place: its workflow id, its input, its search attributes and how
 * it is started, by the API (ingest, redelivery) and by the fan-out workflow alike. Workflow-safe:
 * nothing here touches I/O but through the client it is given.
 */

/**
 * Deliveries started with this version make each attempt in one step (`deliverAttempt`: sign,
 * send and record together, a local activity). Deliveries started before it carry no version and
 * keep their four-step attempts until they finish (see workflows/delivery-v1.ts).
 */
export const ONE_STEP_ATTEMPTS = 2;

/** Ids only: everything else (body, secret, URL) is loaded inside activities. */
export interface DeliveryIn {
  tenantId: string;
  deliveryId: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  /** Number of the first attempt: a redelivery continues the count of the runs before it. */
  firstAttempt?: number;
  /** How this delivery's workflow makes its attempts: {@link ONE_STEP_ATTEMPTS}, or absent (before it). */
  version?: typeof ONE_STEP_ATTEMPTS;
}

export interface FanOutIn {
  tenantId: string;
  eventId: string;
  eventType: string;
  /** Deliveries with ids greater than this one are still to start (continue-as-new paging). */
  afterDeliveryId: string | null;
}

export const DELIVERY_WORKFLOW = 'deliveryWorkflow';
export const FAN_OUT_WORKFLOW = 'fanOutWorkflow';

/** Up to this many deliveries are started by the API directly; more go through a fan-out workflow. */
export const INLINE_FAN_OUT_MAX = 8;

/** Workflow id of the delivery of one event to one endpoint: a second start is a no-op. */
export function deliveryWorkflowId(eventId: string, endpointId: string): string {
  return `delivery-${eventId}-${endpointId}`;
}

/** Workflow id of an event's fan-out. */
export function fanOutWorkflowId(eventId: string): string {
  return `fanout-${eventId}`;
}

/** The event a delivery belongs to, as its workflow input names it. */
export interface DeliveryEvent {
  tenantId: string;
  eventId: string;
  eventType: string;
}

/** A delivery's workflow input; a redelivery gives the number its first attempt continues from. */
export function deliveryInput(event: DeliveryEvent, delivery: { deliveryId: string; endpointId: string }, firstAttempt?: number): DeliveryIn {
  return {
    tenantId: event.tenantId,
    deliveryId: delivery.deliveryId,
    eventId: event.eventId,
    endpointId: delivery.endpointId,
    eventType: event.eventType,
    ...(firstAttempt === undefined ? {} : { firstAttempt }),
    version: ONE_STEP_ATTEMPTS,
  };
}

/** Search attributes a delivery starts with; DeliveryStatus is then kept current by the workflow. */
export function deliverySearchAttributes(input: DeliveryIn): SearchAttributePair[] {
  return [
    { key: TenantId, value: input.tenantId },
    { key: EndpointId, value: input.endpointId },
    { key: EventType, value: input.eventType },
    { key: EventId, value: input.eventId },
    { key: DeliveryStatus, value: 'pending' },
  ];
}

/**
 * What starting a delivery's workflow takes, from the API or as a fan-out's child. A first start
 * rejects a duplicate (the id is the idempotency); a redelivery allows a new run of a closed one.
 */
export function deliveryStartOptions(input: DeliveryIn, reuse: 'first' | 'redeliver') {
  return {
    workflowId: deliveryWorkflowId(input.eventId, input.endpointId),
    args: [input] as [DeliveryIn],
    workflowIdReusePolicy: reuse === 'first' ? WorkflowIdReusePolicy.REJECT_DUPLICATE : WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: deliverySearchAttributes(input),
  };
}

/**
 * Starts one delivery's workflow and answers its run id. With `first`, a delivery already started
 * throws WorkflowExecutionAlreadyStartedError; with `redeliver`, one still running does.
 */
export async function startDelivery(client: Client, taskQueue: string, input: DeliveryIn, reuse: 'first' | 'redeliver'): Promise<string> {
  const handle = await client.workflow.start(DELIVERY_WORKFLOW, { taskQueue, ...deliveryStartOptions(input, reuse) });
  return handle.firstExecutionRunId;
}

/**
 * Starts an event's deliveries: up to {@link INLINE_FAN_OUT_MAX} directly, more through one
 * fan-out workflow that pages through the stored deliveries. Safe to repeat.
 */
export async function dispatchDeliveries(
  client: Client,
  taskQueue: string,
  event: DeliveryEvent,
  deliveries: ReadonlyArray<{ deliveryId: string; endpointId: string }>,
): Promise<void> {
  if (deliveries.length > INLINE_FAN_OUT_MAX) {
    const input: FanOutIn = { ...event, afterDeliveryId: null };
    await client.workflow
      .start(FAN_OUT_WORKFLOW, {
        taskQueue,
        workflowId: fanOutWorkflowId(event.eventId),
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        args: [input],
      })
      .catch(ignoreAlreadyStarted);
    return;
  }
  await Promise.all(
    deliveries.map((d) => startDelivery(client, taskQueue, deliveryInput(event, d), 'first').catch(ignoreAlreadyStarted)),
  );
}
