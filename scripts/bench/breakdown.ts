import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { runPool, summarize } from './stats';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;

/** Where a workflow's time went, from its history (server timestamps), ms. */
export interface WorkflowTimes {
  events: number;
  workflowTasks: number;
  /** Workflow tasks waiting in their task queue (scheduled → started). */
  wftQueue: number;
  /** Workflow tasks on the worker (started → completed; local activities run inside). */
  wftRun: number;
  /** Activities waiting in their task queue. */
  activityQueue: number;
  /** Activities running (started → completed). */
  activityRun: number;
  /** Workflow started → closed. */
  total: number;
}

/** Medians over the sampled workflows (p50 of each per-workflow figure). */
export type Breakdown = { sampled: number } & WorkflowTimes;

const ms = (ts: Timestamp) => (ts ? Number(ts.seconds ?? 0) * 1000 + (ts.nanos ?? 0) / 1e6 : Number.NaN);

export function workflowTimes(events: readonly HistoryEvent[]): WorkflowTimes {
  const at = new Map<string, number>();
  const times: WorkflowTimes = { events: events.length, workflowTasks: 0, wftQueue: 0, wftRun: 0, activityQueue: 0, activityRun: 0, total: 0 };
  let first = Number.NaN;
  let last = Number.NaN;
  for (const event of events) {
    const t = ms(event.eventTime as Timestamp);
    const id = String(event.eventId);
    if (Number.isNaN(first)) first = t;
    last = t;
    if (event.workflowTaskScheduledEventAttributes || event.activityTaskScheduledEventAttributes) at.set(id, t);
    const wftStarted = event.workflowTaskStartedEventAttributes;
    if (wftStarted) {
      times.workflowTasks++;
      times.wftQueue += t - (at.get(String(wftStarted.scheduledEventId)) ?? t);
      at.set(id, t);
    }
    const wftDone = event.workflowTaskCompletedEventAttributes;
    if (wftDone) times.wftRun += t - (at.get(String(wftDone.startedEventId)) ?? t);
    const actStarted = event.activityTaskStartedEventAttributes;
    if (actStarted) {
      times.activityQueue += t - (at.get(String(actStarted.scheduledEventId)) ?? t);
      at.set(id, t);
    }
    const actDone = event.activityTaskCompletedEventAttributes;
    if (actDone) times.activityRun += t - (at.get(String(actDone.startedEventId)) ?? t);
  }
  times.total = last - first;
  return times;
}

/** Reads the histories of up to `max` workflows spread evenly over `workflowIds`. */
export async function historyBreakdown(client: Client, workflowIds: readonly string[], max = 50): Promise<Breakdown> {
  const step = Math.max(1, workflowIds.length / max);
  const picked: string[] = [];
  for (let i = 0; i < workflowIds.length && picked.length < max; i += step) picked.push(workflowIds[Math.floor(i)]!);
  const all = await runPool(picked.length, 8, async (i) => {
    const history = await client.workflow.getHandle(picked[i]!).fetchHistory();
    return workflowTimes((history.events ?? []) as HistoryEvent[]);
  });
  const median = (key: keyof WorkflowTimes) => summarize(all.map((t) => t[key])).p50;
  return {
    sampled: all.length,
    events: median('events'),
    workflowTasks: median('workflowTasks'),
    wftQueue: median('wftQueue'),
    wftRun: median('wftRun'),
    activityQueue: median('activityQueue'),
    activityRun: median('activityRun'),
    total: median('total'),
  };
}
