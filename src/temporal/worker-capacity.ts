import type { Config } from '../config';

/**
 * How much a worker takes on at once, from the WORKER_* settings: activity and local-activity
 * slots, workflow-task slots and polls, the sticky cache. The bench's floor workers use the same.
 */
export function workerCapacity(config: Config) {
  return {
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentLocalActivityExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    workflowTaskPollerBehavior: { type: 'simple-maximum' as const, maximum: config.WORKER_WORKFLOW_TASK_POLLERS },
    nonStickyToStickyPollRatio: config.WORKER_NONSTICKY_POLL_RATIO,
    ...(config.WORKER_MAX_CACHED_WORKFLOWS === undefined ? {} : { maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS }),
  };
}
