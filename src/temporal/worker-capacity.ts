import v8 from 'node:v8';
import type { Config } from '../config';
import { WorkflowTaskSlots } from './workflow-task-slots';

const MIB = 1024 * 1024;

/**
 * The SDK's own sticky-cache size for a heap of `heapLimitMiB` (its rule, with reused V8
 * contexts: 600 workflows per GiB of heap above 200 MiB, at least 10).
 */
export function sdkDefaultCachedWorkflows(heapLimitMiB: number): number {
  return Math.max(Math.floor((Math.max(heapLimitMiB - 200, 0) * 600) / 1024), 10);
}

/**
 * How many workflows the worker keeps cached: WORKER_MAX_CACHED_WORKFLOWS when set; otherwise the
 * SDK's heap-sized default, but never fewer than the workflow-task slots. A workflow stays cached
 * while its task runs, so the cache also bounds the tasks in progress: with a small heap (a
 * memory-capped container, `--max-old-space-size=192`) the SDK's cache of 10 held 8 deliveries in
 * flight instead of 97 (measured: 300 deliveries to a receiver holding each 1.5 s took 68.8 s, and
 * 11.3 s with this floor).
 */
export function cachedWorkflows(config: Config, heapLimitMiB = v8.getHeapStatistics().heap_size_limit / MIB): number {
  return config.WORKER_MAX_CACHED_WORKFLOWS ?? Math.max(sdkDefaultCachedWorkflows(heapLimitMiB), config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS);
}

/** The workflow-task slots a worker with these settings hands out (see {@link workerCapacity}). */
export function workflowTaskSlots(config: Config): WorkflowTaskSlots {
  return new WorkflowTaskSlots(config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS);
}

/**
 * How much a worker takes on at once, from the WORKER_* settings: activity and local-activity
 * slots, workflow-task slots (counted by `slots`, which eager starters wait on) and polls, the
 * sticky cache. The bench's floor workers use the same.
 */
export function workerCapacity(config: Config, slots: WorkflowTaskSlots = workflowTaskSlots(config), heapLimitMiB?: number) {
  const activitySlots = { type: 'fixed-size' as const, numSlots: config.WORKER_MAX_CONCURRENT_ACTIVITIES };
  return {
    tuner: {
      workflowTaskSlotSupplier: slots,
      activityTaskSlotSupplier: activitySlots,
      localActivityTaskSlotSupplier: activitySlots,
      // No Nexus operations run here; the SDK still wants a supplier for them.
      nexusTaskSlotSupplier: { type: 'fixed-size' as const, numSlots: 1 },
    },
    workflowTaskPollerBehavior: { type: 'simple-maximum' as const, maximum: config.WORKER_WORKFLOW_TASK_POLLERS },
    nonStickyToStickyPollRatio: config.WORKER_NONSTICKY_POLL_RATIO,
    maxCachedWorkflows: cachedWorkflows(config, heapLimitMiB),
  };
}
