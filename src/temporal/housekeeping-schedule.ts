import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Logger } from '../logger';

/** One schedule per task queue, so test runs and deployments sharing a namespace stay apart. */
export const housekeepingScheduleId = (taskQueue: string) => `housekeeping-${taskQueue}`;

/**
 * Creates the housekeeping Schedule, or brings an existing one up to date (interval, task queue).
 * Called at every worker start; safe to run from many workers at once.
 */
export async function ensureHousekeepingSchedule(
  client: Client,
  options: { taskQueue: string; intervalSeconds: number },
  log: Logger,
): Promise<string> {
  const scheduleId = housekeepingScheduleId(options.taskQueue);
  const spec = { intervals: [{ every: options.intervalSeconds * 1000 }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'housekeepingWorkflow',
    taskQueue: options.taskQueue,
    workflowId: `housekeeping-${options.taskQueue}`,
    args: [] as [],
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' },
      memo: { purpose: 'purge anti-replay nonces, rate windows and old telemetry; start deliveries of stored events never dispatched' },
    });
    log.info({ scheduleId, everySeconds: options.intervalSeconds }, 'housekeeping schedule created');
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action }));
    log.debug({ scheduleId }, 'housekeeping schedule up to date');
  }
  return scheduleId;
}
