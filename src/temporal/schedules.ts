import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription } from '@temporalio/client';
import type { KeyScope } from '../domain/keys';
import {
  KEY_ROTATION_WORKFLOW,
  keyRotationScheduleId,
  keyRotationSearchAttributes,
  keyRotationWorkflowId,
  type KeyRotationIn,
} from './key-rotations';

/** What the API shows of a scope's auto-rotation schedule. */
export interface KeyScheduleView {
  id: string;
  paused: boolean;
  note: string | null;
  interval_seconds: number | null;
  next_action_times: string[];
  actions_taken: number;
  skipped_overlap: number;
  recent_actions: Array<{ workflow_id: string; run_id: string; scheduled_at: string; started_at: string }>;
  running_workflow_ids: string[];
}

export interface KeyScheduleIn {
  tenantId: string;
  scope: KeyScope;
  intervalSeconds: number;
  graceSeconds: number;
  taskQueue: string;
}

function action(input: KeyScheduleIn) {
  const args: KeyRotationIn = { tenantId: input.tenantId, scope: input.scope, graceSeconds: input.graceSeconds, trigger: 'schedule', actor: 'schedule' };
  return {
    type: 'startWorkflow' as const,
    workflowType: KEY_ROTATION_WORKFLOW,
    taskQueue: input.taskQueue,
    // Temporal appends the scheduled time to this id, one run per action.
    workflowId: `${keyRotationWorkflowId(input.tenantId, input.scope)}-scheduled`,
    args: [args] as [KeyRotationIn],
    typedSearchAttributes: keyRotationSearchAttributes(input),
  };
}

/**
 * Creates the scope's auto-rotation schedule, or updates it (and unpauses it) when it exists.
 * Overlap policy SKIP: no new rotation starts while the schedule's previous one still runs.
 */
export async function upsertKeySchedule(client: Client, input: KeyScheduleIn): Promise<string> {
  const scheduleId = keyRotationScheduleId(input.tenantId, input.scope);
  const spec = { intervals: [{ every: input.intervalSeconds * 1000 }] };
  const handle = client.schedule.getHandle(scheduleId);
  try {
    await handle.update((previous) => ({
      ...previous,
      spec,
      action: action(input),
      policies: { ...previous.policies, overlap: ScheduleOverlapPolicy.SKIP },
      state: { ...previous.state, paused: false, note: 'auto-rotation configured' },
    }));
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    await client.schedule.create({
      scheduleId,
      spec,
      action: action(input),
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      state: { note: 'auto-rotation configured' },
    });
  }
  return scheduleId;
}

/** Pauses (or deletes) the scope's schedule; false when there is none. */
export async function stopKeySchedule(client: Client, tenantId: string, scope: KeyScope, mode: 'pause' | 'delete'): Promise<boolean> {
  const handle = client.schedule.getHandle(keyRotationScheduleId(tenantId, scope));
  try {
    if (mode === 'delete') await handle.delete();
    else await handle.pause('auto-rotation disabled');
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}

function view(d: ScheduleDescription): KeyScheduleView {
  const every = d.spec.intervals?.[0]?.every;
  return {
    id: d.scheduleId,
    paused: d.state.paused,
    note: d.state.note ?? null,
    interval_seconds: typeof every === 'number' ? Math.round(every / 1000) : null,
    next_action_times: d.info.nextActionTimes.map((t) => t.toISOString()),
    actions_taken: d.info.numActionsTaken,
    skipped_overlap: d.info.numActionsSkippedOverlap,
    recent_actions: d.info.recentActions.map((a) => ({
      workflow_id: a.action.workflow.workflowId,
      run_id: a.action.workflow.firstExecutionRunId,
      scheduled_at: a.scheduledAt.toISOString(),
      started_at: a.takenAt.toISOString(),
    })),
    running_workflow_ids: d.info.runningActions.map((a) => a.workflow.workflowId),
  };
}

/** The scope's schedule as Temporal describes it, or null when there is none. */
export async function describeKeySchedule(client: Client, tenantId: string, scope: KeyScope): Promise<KeyScheduleView | null> {
  try {
    return view(await client.schedule.getHandle(keyRotationScheduleId(tenantId, scope)).describe());
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return null;
    throw err;
  }
}
