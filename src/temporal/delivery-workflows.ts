import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy, type SearchAttributePair } from '@temporalio/common';
import { displayTarget } from '../domain/endpoint';
import type { RetryConfig } from '../domain/retry-config';
import type { SealedAttempt } from '../db/attempt-context-repo';
import { attemptPlanText } from '../../workflows/retry-policy';
import { wakeSequencer } from './fifo-sequencers';
import { ignoreAlreadyStarted } from './idempotent-start';
import { DeliveryStatus, EndpointId, EventId, EventType, TenantId } from './search-attributes';

/**
 * A delivery's identity, in one place: its workflow id, its input, its search attributes and how
 * it is started, by the API (ingest, redelivery) and by the fan-out workflow alike. Workflow-safe:
 * nothing here touches I/O but through the client it is given.
 */

/**
 * Deliveries started with this version make each attempt in one step (`deliverAttempt`: sign,
 * send and record together, a local activity), end a dead letter as a Failed workflow, and stop
 * on Temporal's own cancellation. Deliveries started before it carry no version and keep their
 * four-step attempts and endings until they finish (see workflows/delivery-v1.ts).
 */
export const ONE_STEP_ATTEMPTS = 2;

/**
 * Deliveries started with this version make their attempts as {@link ONE_STEP_ATTEMPTS} does and
 * end a success by completing alone: no `DeliveryStatus = succeeded` upsert before the close (the
 * run's Completed status says it, see `deliveryStateOf`), one history event and one visibility
 * write fewer per delivery. Version-2 runs keep the upsert until they finish.
 */
export const SUCCESS_BY_CLOSE = 3;

/**
 * Deliveries started with this version end as {@link SUCCESS_BY_CLOSE} does, and run each attempt
 * step in the workflow's own cancellation scope with Temporal's wait-for-completion cancellation:
 * a cancel that comes while the step runs lets it finish and keeps its attempt, as before, without
 * the non-cancellable scope versions 2 and 3 wrap every step in (five more workflow promises, each
 * a source-mapped stack trace in the SDK's promise hook: about 0.2 ms of the workflow thread's CPU
 * per delivery). A step the cancel reaches before it runs (its task run again after the cancel came in,
 * or taken over from a worker that stopped) is not sent: the workflow asks only for the attempt an
 * earlier run of it stored, and ends cancelled when there is none.
 */
export const STEP_WAITS_ON_CANCEL = 4;

/** The versions that run `deliveryWorkflow`'s one-step attempts. */
export type OneStepVersion = typeof ONE_STEP_ATTEMPTS | typeof SUCCESS_BY_CLOSE | typeof STEP_WAITS_ON_CANCEL;

/** Ids only: everything else (body, secret, URL) is loaded inside activities. */
export interface DeliveryIn {
  tenantId: string;
  deliveryId: string;
  eventId: string;
  endpointId: string;
  eventType: string;
  /** Number of the first attempt: a redelivery continues the count of the runs before it. */
  firstAttempt?: number;
  /** How this delivery's workflow makes its attempts: {@link STEP_WAITS_ON_CANCEL} now, {@link SUCCESS_BY_CLOSE} or {@link ONE_STEP_ATTEMPTS} before it, or absent (before all three). */
  version?: OneStepVersion;
  /** The receiver as operators see it (`host/path`, tokens masked: {@link displayTarget}); never a secret. */
  target?: string;
  /** Its place in a FIFO endpoint's line: receivers get it as `x-webhook-sequence`. */
  sequence?: number;
  /** The recovery that redelivered it (its success is counted there). */
  recoveryId?: string;
}

/** What a delivery's run shows in the Temporal UI: a one-line summary and its details. */
export interface DeliveryDisplay {
  summary: string;
  details: string;
}

/** The endpoint as a delivery's display needs it. */
export interface DisplayedEndpoint {
  url: string;
  urlSensitive?: boolean;
  retryConfig: RetryConfig | null;
}

/** The receiver of an endpoint as operators see it. */
export function endpointTarget(endpoint: Pick<DisplayedEndpoint, 'url' | 'urlSensitive'>): string {
  return displayTarget(endpoint.url, endpoint.urlSensitive ?? false);
}

/**
 * The run's static summary (`order.created → receiver.example.com`) and details: the ids, the
 * tenant, the receiver and the attempt plan, in Markdown (the Web UI renders it).
 */
export function deliveryDisplay(input: DeliveryIn, endpoint: DisplayedEndpoint): DeliveryDisplay {
  const target = endpointTarget(endpoint);
  const first = input.firstAttempt ?? 1;
  return {
    summary: `${input.eventType} → ${target.split('/')[0]}`,
    details: [
      `**Delivery** \`${input.deliveryId}\` of event \`${input.eventId}\` (\`${input.eventType}\`)`,
      `**Endpoint** \`${input.endpointId}\` · **Tenant** \`${input.tenantId}\`${input.sequence ? ` · **In line** #${input.sequence} (FIFO)` : ''}`,
      `**Receiver** POST ${target}`,
      `**Attempts** ${attemptPlanText(endpoint.retryConfig)}${first > 1 ? ` · a redelivery: attempts continue at ${first}` : ''}`,
    ].join('\n\n'),
  };
}

/** What an attempt's step shows in the Web UI (its summary): the request and the attempt's number. */
export function attemptStepSummary(target: string, attempt: number): string {
  return `POST ${target} — attempt ${attempt}`;
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
export function deliveryInput(
  event: DeliveryEvent,
  delivery: { deliveryId: string; endpointId: string; target?: string; sequence?: number | null },
  firstAttempt?: number,
): DeliveryIn {
  return {
    tenantId: event.tenantId,
    deliveryId: delivery.deliveryId,
    eventId: event.eventId,
    endpointId: delivery.endpointId,
    eventType: event.eventType,
    ...(firstAttempt === undefined ? {} : { firstAttempt }),
    version: STEP_WAITS_ON_CANCEL,
    ...(delivery.target === undefined ? {} : { target: delivery.target }),
    ...(delivery.sequence === undefined || delivery.sequence === null ? {} : { sequence: delivery.sequence }),
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
 * When a new run of a delivery's workflow id may start: `first`, never (the id is the
 * idempotency); `after-failure`, a redelivery, only after a run that did not succeed (failed,
 * cancelled, terminated, timed out), so a delivered event is never sent again by accident;
 * `after-close`, a redelivery of a run that completed without delivering (deliveries started
 * before dead letters ended as failures).
 */
export type DeliveryReuse = 'first' | 'after-failure' | 'after-close';

const REUSE_POLICIES: Record<DeliveryReuse, WorkflowIdReusePolicy> = {
  first: WorkflowIdReusePolicy.REJECT_DUPLICATE,
  'after-failure': WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
  'after-close': WorkflowIdReusePolicy.ALLOW_DUPLICATE,
};

/** What starting a delivery's workflow takes, from the API or as a fan-out's child. */
export function deliveryStartOptions(input: DeliveryIn, reuse: DeliveryReuse, display?: DeliveryDisplay) {
  return {
    workflowId: deliveryWorkflowId(input.eventId, input.endpointId),
    args: [input] as [DeliveryIn],
    workflowIdReusePolicy: REUSE_POLICIES[reuse],
    typedSearchAttributes: deliverySearchAttributes(input),
    ...(display ? { staticSummary: display.summary, staticDetails: display.details } : {}),
  };
}

/**
 * Starts one delivery's workflow and answers its run id, and whether the server handed its first
 * task back in the answer (an eager start, asked for with `eager`). Throws
 * WorkflowExecutionAlreadyStartedError when the reuse policy refuses: the delivery was already
 * started (`first`), runs, or succeeded.
 */
export async function startDelivery(
  client: Client,
  taskQueue: string,
  input: DeliveryIn,
  reuse: DeliveryReuse,
  display?: DeliveryDisplay,
  eager = false,
): Promise<{ runId: string; eagerlyStarted: boolean }> {
  const handle = await client.workflow.start(DELIVERY_WORKFLOW, { taskQueue, ...deliveryStartOptions(input, reuse, display), ...(eager ? { requestEagerStart: true } : {}) });
  return { runId: handle.firstExecutionRunId, eagerlyStarted: handle.eagerlyStarted ?? false };
}

/**
 * What ingest hands the worker that starts a delivery eagerly, so the delivery's first attempt
 * need not read it again: the endpoint as it read it (sealed values only: the keys, a secret URL,
 * header values and client certificate stay sealed under the master key) and the event's body
 * (when it is at most {@link HANDOFF_BODY_MAX} bytes; sent with one start of the event only). Never in
 * Temporal's history: it goes from the API's memory to the worker's, beside the start.
 */
export interface AttemptHandoff {
  attempt: SealedAttempt;
  body?: string;
}

/** The largest event body handed to a worker with its deliveries' starts (larger ones the worker reads). */
export const HANDOFF_BODY_MAX = 16 * 1024;

/** One delivery to start: its input and what its run shows (ids and masked display text only), and what ingest hands its first attempt. */
export interface RelayedStart {
  input: DeliveryIn;
  display?: DeliveryDisplay;
  handoff?: AttemptHandoff;
}

/** How many deliveries a call started (those found already started are not counted), `eager` of them eagerly. */
export interface StartOutcome {
  started: number;
  eager: number;
}

/** Starts deliveries' workflows (`first` starts: a delivery found already started counts as done). */
export type StartDeliveries = (starts: ReadonlyArray<RelayedStart>) => Promise<StartOutcome>;

/**
 * Starts deliveries through `client`. `eager`: `client` shares its connection with a worker of
 * this process that polls `taskQueue`, so each start asks for an eager start: the server hands the
 * first workflow task back in the start's answer, straight to that worker (no task-queue match,
 * no poll); when the worker has no free slot, the task is queued as usual.
 */
export function directStarts(client: Client, taskQueue: string, eager = false): StartDeliveries {
  return async (starts) => {
    const results = await Promise.all(starts.map((s) => startDelivery(client, taskQueue, s.input, 'first', s.display, eager).catch(ignoreAlreadyStarted)));
    const started = results.filter((r) => r !== undefined);
    return { started: started.length, eager: started.filter((r) => r.eagerlyStarted).length };
  };
}

/**
 * Starts an event's deliveries: up to {@link INLINE_FAN_OUT_MAX} directly, more through one
 * fan-out workflow that pages through the stored deliveries; a delivery to a FIFO endpoint by
 * waking that endpoint's sequencer instead. Safe to repeat. Answers how many deliveries it
 * started directly, and how many of those the server started eagerly. Direct starts go through
 * `start` (by default the client's own, not eager).
 */
export async function dispatchDeliveries(
  client: Client,
  taskQueue: string,
  event: DeliveryEvent,
  deliveries: ReadonlyArray<{ deliveryId: string; endpointId: string; endpoint?: DisplayedEndpoint; sequence?: number | string | null; handoff?: AttemptHandoff }>,
  start: StartDeliveries = directStarts(client, taskQueue),
): Promise<StartOutcome> {
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
    return { started: 0, eager: 0 };
  }
  // A delivery in a FIFO line is started by its endpoint's sequencer, in order: wake it.
  const lines = new Set(deliveries.filter((d) => d.sequence !== undefined && d.sequence !== null).map((d) => d.endpointId));
  // The event's body goes to the worker once, with the first start that hands one over: it joins
  // the worker's body cache, where the event's other deliveries find it.
  let bodyHanded = false;
  const direct = deliveries
    .filter((d) => !lines.has(d.endpointId))
    .map((d) => {
      const input = deliveryInput(event, { ...d, sequence: null, target: d.endpoint && endpointTarget(d.endpoint) });
      const handoff = d.handoff && bodyHanded ? { attempt: d.handoff.attempt } : d.handoff;
      bodyHanded ||= handoff?.body !== undefined;
      return { input, display: d.endpoint && deliveryDisplay(input, d.endpoint), ...(handoff ? { handoff } : {}) };
    });
  const [outcome] = await Promise.all([
    direct.length > 0 ? start(direct) : { started: 0, eager: 0 },
    ...[...lines].map((endpointId) => wakeSequencer(client, taskQueue, { tenantId: event.tenantId, endpointId })),
  ]);
  return outcome;
}
