import { isGrpcServiceError, type Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { LoadedDataConverter } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { temporal } from '@temporalio/proto';
import type { AttemptStep, RecordOut, SendIn } from '../../activities/types';
import type { AttemptOutcome, AttemptResult } from '../domain/delivery';
import type { DeliveryIn } from './delivery-workflows';
import { deliveryStateOf } from './delivery-status';
import { visibilityString } from './search-attributes';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** gRPC NOT_FOUND: no run of that workflow id. */
const GRPC_NOT_FOUND = 5;
type Payload = temporal.api.common.v1.IPayload;
type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;

/** One attempt as the delivery log shows it. */
export interface AttemptView {
  attempt: number;
  state: 'completed' | 'in_flight' | 'activity_failed';
  started_at: string | null;
  duration_ms: number | null;
  response_status: number | null;
  outcome: AttemptOutcome | null;
  error_class: string | null;
  error_message: string | null;
  response_excerpt: string | null;
}

export interface DeliveryHistory {
  workflow_status: string;
  status: string;
  /** Why the current run ended as it did (`retries exhausted`, `not retryable: http_4xx`, a cancel reason); null while it runs or after a success. */
  reason: string | null;
  attempts: AttemptView[];
  next_attempt_at: string | null;
}

/** The part of a delivery workflow's result the log shows (the workflow's `DeliveryOut`). */
interface DeliveryResult {
  reason: string | null;
}

/** Why a closed run ended, from its closing history event. */
async function closingReason(events: HistoryEvent[], decode: Decode): Promise<string | null> {
  const last = events.at(-1);
  if (!last) return null;
  if (last.workflowExecutionCompletedEventAttributes) {
    return (await decode<DeliveryResult>(last.workflowExecutionCompletedEventAttributes.result?.payloads))?.reason ?? null;
  }
  const terminated = last.workflowExecutionTerminatedEventAttributes;
  if (terminated) return `terminated${terminated.identity ? ` by ${terminated.identity}` : ''}: ${terminated.reason || 'no reason given'}`;
  const failure = last.workflowExecutionFailedEventAttributes?.failure;
  if (failure) {
    // A delivery that did not deliver carries its short verdict in the failure's details.
    const verdict = await decode<{ reason?: string }>(failure.applicationFailureInfo?.details?.payloads);
    return verdict?.reason ?? failure.message ?? 'workflow failed';
  }
  if (last.workflowExecutionTimedOutEventAttributes) return 'timed out';
  if (last.workflowExecutionCanceledEventAttributes) {
    // The request says who cancelled and why (the API's cancel and the Web UI's Cancel alike).
    const request = [...events].reverse().find((e) => e.workflowExecutionCancelRequestedEventAttributes)?.workflowExecutionCancelRequestedEventAttributes;
    return `cancelled${request?.identity ? ` by ${request.identity}` : ''}${request?.cause ? `: ${request.cause}` : ''}`;
  }
  return null;
}

export function timestampMs(ts: Timestamp): number {
  if (!ts) return 0;
  return Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

/** Decodes the first payload (through the client's codecs, when any, then its converter). */
type Decode = <T>(payloads: Payload[] | null | undefined) => Promise<T | undefined>;

/** The SDK's name of the marker recording a local activity's result. */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** An attempt as recorded with its result. */
function completedAttempt(attempt: number, out: AttemptResult | undefined): AttemptView {
  return {
    attempt,
    state: 'completed',
    started_at: out?.startedAt ?? null,
    duration_ms: out?.durationMs ?? null,
    response_status: out?.responseStatus ?? null,
    outcome: out?.outcome ?? null,
    error_class: out?.errorClass ?? null,
    error_message: out?.errorMessage ?? null,
    response_excerpt: out?.responseExcerpt ?? null,
  };
}

/**
 * An attempt recorded in a local activity's marker: the one-step attempt (`deliverAttempt`, its
 * result an {@link AttemptStep}), or an attempt the workflow recorded itself (`recordAttempt`).
 * The marker's `data` is the SDK's own JSON (its activity type); its `result` goes through the codec.
 */
async function markerAttempt(marker: temporal.api.history.v1.IMarkerRecordedEventAttributes, decode: Decode): Promise<AttemptView | null> {
  if (marker.markerName !== LOCAL_ACTIVITY_MARKER || marker.failure) return null;
  const data = marker.details?.data?.payloads?.[0]?.data;
  let type: string | undefined;
  try {
    type = data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }).activity_type : undefined;
  } catch {
    return null;
  }
  if (type === 'deliverAttempt') {
    const step = await decode<AttemptStep>(marker.details?.result?.payloads);
    return step?.kind === 'attempted' ? completedAttempt(step.attempt, step.result) : null;
  }
  if (type === 'recordAttempt') {
    const recorded = await decode<RecordOut>(marker.details?.result?.payloads);
    return recorded ? completedAttempt(recorded.attempt, recorded.result) : null;
  }
  return null;
}

/**
 * One run's attempts and its pending timers. An attempt is a `deliverAttempt` step's marker (or
 * a `recordAttempt` marker for one the step could not record); in the histories of deliveries
 * started before the one-step attempt, it is a `sendWebhook` activity execution.
 */
async function attemptsOfRun(events: HistoryEvent[], decode: Decode): Promise<{ attempts: AttemptView[]; timers: Map<string, number> }> {
  const attempts = new Map<string, AttemptView>();
  const timers = new Map<string, number>();
  for (const event of events) {
    const at = timestampMs(event.eventTime as Timestamp);
    const marker = event.markerRecordedEventAttributes;
    const recorded = marker ? await markerAttempt(marker, decode) : null;
    if (recorded) attempts.set(`attempt-${recorded.attempt}`, recorded);
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'sendWebhook') {
      const input = await decode<SendIn>(scheduled.input?.payloads);
      attempts.set(String(event.eventId), {
        attempt: input?.attempt ?? attempts.size + 1,
        state: 'in_flight',
        started_at: null,
        duration_ms: null,
        response_status: null,
        outcome: null,
        error_class: null,
        error_message: null,
        response_excerpt: null,
      });
    }
    const completed = event.activityTaskCompletedEventAttributes;
    const attempt = completed && attempts.get(String(completed.scheduledEventId));
    if (completed && attempt) Object.assign(attempt, completedAttempt(attempt.attempt, await decode<AttemptResult>(completed.result?.payloads)));
    const failed = event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
    const failedAttempt = failed && attempts.get(String(failed.scheduledEventId));
    if (failed && failedAttempt) {
      Object.assign(failedAttempt, {
        state: 'activity_failed',
        outcome: 'retryable',
        error_class: 'internal',
        error_message: failed.failure?.message ?? 'activity failed',
      });
    }
    const timer = event.timerStartedEventAttributes;
    if (timer?.timerId) timers.set(timer.timerId, at + timestampMs(timer.startToFireTimeout as Timestamp));
    const closedTimer = event.timerFiredEventAttributes ?? event.timerCanceledEventAttributes;
    if (closedTimer?.timerId) timers.delete(closedTimer.timerId);
  }
  // One entry per attempt number: an attempt can show twice (a legacy delivery's send activity,
  // then its record step's marker once the worker runs today's code); the later says it all.
  const byNumber = new Map<number, AttemptView>();
  for (const view of attempts.values()) byNumber.set(view.attempt, view);
  return { attempts: [...byNumber.values()], timers };
}

/** Decodes through a client's data converter (its codecs first). */
function decoderOf(converter: LoadedDataConverter): Decode {
  return async <T>(payloads: Payload[] | null | undefined) => (payloads?.[0] ? decodeFromPayloadsAtIndex<T>(converter, 0, payloads as never) : undefined);
}

/** The attempts one run's history records, in attempt order. */
export async function attemptsInHistory(history: temporal.api.history.v1.IHistory, converter: LoadedDataConverter): Promise<AttemptView[]> {
  const { attempts } = await attemptsOfRun((history.events ?? []) as HistoryEvent[], decoderOf(converter));
  return attempts.sort((a, b) => a.attempt - b.attempt);
}

/** Attempts of a redelivered delivery's earlier runs (each redelivery is a new run of the same id). */
async function attemptsOfEarlierRuns(client: Client, workflowId: string, currentRunId: string, decode: Decode): Promise<AttemptView[]> {
  const runIds: string[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = ${visibilityString(workflowId)}` })) {
    if (run.runId !== currentRunId) runIds.push(run.runId);
  }
  const histories = await Promise.all(runIds.map((runId) => client.workflow.getHandle(workflowId, runId).fetchHistory()));
  const runs = await Promise.all(histories.map((h) => attemptsOfRun((h.events ?? []) as HistoryEvent[], decode)));
  return runs.flatMap((run) => run.attempts);
}

/**
 * Reads a delivery's attempts from its workflow history: each `sendWebhook` activity execution is
 * one attempt, with the result the activity returned. A pending retry timer gives next_attempt_at.
 * A redelivered delivery's earlier runs contribute their attempts too.
 */
export async function readDeliveryHistory(client: Client, workflowId: string): Promise<DeliveryHistory | null> {
  let description;
  let history;
  try {
    // One after the other, the same run: a history read at the same time as the description
    // could be older than it (a delivery shown succeeded without its last attempt).
    description = await client.workflow.getHandle(workflowId).describe();
    history = await client.workflow.getHandle(workflowId, description.runId).fetchHistory();
  } catch (err) {
    // Not started yet (a delivery waiting in its FIFO line, or in the outbox): no history.
    if (err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && err.code === GRPC_NOT_FOUND)) return null;
    throw err;
  }
  const decode = decoderOf(client.options.loadedDataConverter);

  const events = (history.events ?? []) as HistoryEvent[];
  const current = await attemptsOfRun(events, decode);
  const started = (history.events?.[0] as HistoryEvent | undefined)?.workflowExecutionStartedEventAttributes;
  const firstAttempt = (await decode<DeliveryIn>(started?.input?.payloads))?.firstAttempt ?? 1;
  const earlier = firstAttempt > 1 ? await attemptsOfEarlierRuns(client, workflowId, description.runId, decode) : [];

  const workflowStatus = description.status.name;
  const searchStatus = description.typedSearchAttributes.getAll().find((p) => p.key.name === 'DeliveryStatus')?.value;
  const nextAttempt = workflowStatus === 'RUNNING' && current.timers.size > 0 ? Math.max(...current.timers.values()) : null;
  return {
    workflow_status: workflowStatus,
    status: deliveryStateOf(workflowStatus, searchStatus),
    reason: workflowStatus === 'RUNNING' || (workflowStatus === 'COMPLETED' && deliveryStateOf(workflowStatus, searchStatus) === 'succeeded') ? null : await closingReason(events, decode),
    attempts: [...earlier, ...current.attempts].sort((a, b) => a.attempt - b.attempt),
    next_attempt_at: nextAttempt === null ? null : new Date(nextAttempt).toISOString(),
  };
}
