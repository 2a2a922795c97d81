import { DefaultLogger } from '@temporalio/worker';
import { noopMetricMeter } from '@temporalio/common/lib/metrics';
import { compileWorkerOptions } from '@temporalio/worker/lib/worker-options';
import { loadConfig } from '../../src/config';
import { workerCapacity, workflowTaskSlots } from '../../src/temporal/worker-capacity';
import { WorkflowTaskSlots } from '../../src/temporal/workflow-task-slots';

const CTX = { slotType: 'workflow', taskQueue: 'q', workerIdentity: 'w', workerBuildId: '', isSticky: false } as const;
const never = () => new AbortController().signal;
/** A slot released after running a task, and one released by a poll that got none. */
const TASK = { slotInfo: { type: 'workflow', workflowType: 'deliveryWorkflow', isSticky: false }, permit: { poll: false } } as const;
const POLL_ENDED = { permit: { poll: true } };

/** Takes a slot for a task that runs (as an eager start's does). */
function runTask(slots: WorkflowTaskSlots): void {
  const permit = slots.tryReserveSlot(CTX);
  expect(permit).not.toBeNull();
  slots.markSlotUsed({ slotInfo: TASK.slotInfo, permit: permit! });
}

/** Whether `promise` has settled once pending callbacks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('WorkflowTaskSlots', () => {
  it('when every slot is taken, then eager reservations are refused until one is released', () => {
    const slots = new WorkflowTaskSlots(2);
    expect(slots.tryReserveSlot(CTX)).not.toBeNull();
    expect(slots.tryReserveSlot(CTX)).not.toBeNull();
    expect(slots.tryReserveSlot(CTX)).toBeNull();
    slots.releaseSlot(POLL_ENDED);
    expect(slots.free).toBe(1);
    expect(slots.tryReserveSlot(CTX)).not.toBeNull();
    expect(() => new WorkflowTaskSlots(0)).toThrow(RangeError);
  });

  it('when polls wait for a slot, then released slots go to them in order', async () => {
    const slots = new WorkflowTaskSlots(1);
    await slots.reserveSlot(CTX, never());
    const order: string[] = [];
    const first = slots.reserveSlot(CTX, never()).then(() => order.push('first'));
    const second = slots.reserveSlot(CTX, never()).then(() => order.push('second'));
    expect(await settled(first)).toBe(false);
    slots.releaseSlot(POLL_ENDED);
    await first;
    expect(await settled(second)).toBe(false);
    slots.releaseSlot(POLL_ENDED);
    await second;
    expect(order).toEqual(['first', 'second']);
    expect(slots.free).toBe(0);
  });

  it('when a waiting poll is aborted (the worker shuts down), then it rejects with the signal’s reason and takes no slot', async () => {
    const slots = new WorkflowTaskSlots(1);
    await slots.reserveSlot(CTX, never());
    const controller = new AbortController();
    const waiting = slots.reserveSlot(CTX, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBe(controller.signal.reason);
    slots.releaseSlot(POLL_ENDED);
    expect(slots.free).toBe(1);
    await expect(slots.reserveSlot(CTX, controller.signal)).rejects.toBe(controller.signal.reason);
    expect(slots.free).toBe(1);
  });

  it('when starters ask for room, then the slots are set aside for their starts, and what they did not take is freed when done', async () => {
    const slots = new WorkflowTaskSlots(3);
    const room = await slots.room(2, 1_000);
    expect(slots.free).toBe(1);
    // A poll gets only the slot not set aside; the starts' reservations get theirs.
    await slots.reserveSlot(CTX, never());
    expect(slots.free).toBe(0);
    expect(slots.tryReserveSlot(CTX)).not.toBeNull();
    room.done();
    expect(slots.free).toBe(1);
    room.done();
    expect(slots.free).toBe(1);
  });

  it('when a worker is full, then a starter waits until its slots are released, ahead of later starters', async () => {
    const slots = new WorkflowTaskSlots(2);
    runTask(slots);
    runTask(slots);
    const first = slots.room(2, 10_000);
    const second = slots.room(1, 10_000);
    slots.releaseSlot(TASK);
    // One slot is free, but the first starter wants two and came first.
    expect(await settled(first)).toBe(false);
    expect(await settled(second)).toBe(false);
    slots.releaseSlot(TASK);
    const firstRoom = await first;
    expect(slots.free).toBe(0);
    expect(await settled(second)).toBe(false);
    firstRoom.done();
    (await second).done();
    expect(slots.free).toBe(2);
  });

  it('when polls and a starter both wait, then a released slot goes to the poll first', async () => {
    const slots = new WorkflowTaskSlots(1);
    runTask(slots);
    const poll = slots.reserveSlot(CTX, never());
    const starter = slots.room(1, 10_000);
    slots.releaseSlot(TASK);
    await poll;
    expect(await settled(starter)).toBe(false);
    slots.releaseSlot(TASK);
    (await starter).done();
    expect(slots.free).toBe(1);
  });

  it('when open polls hold the slots a start would need, then it does not wait for them', async () => {
    const slots = new WorkflowTaskSlots(3);
    await Promise.all([1, 2, 3].map(() => slots.reserveSlot(CTX, never())));
    const started = Date.now();
    const room = await slots.room(1, 5_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(slots.tryReserveSlot(CTX)).toBeNull();
    room.done();
    // A task in progress will free its slot: then it is worth waiting for.
    slots.releaseSlot(POLL_ENDED);
    runTask(slots);
    const waiting = slots.room(1, 5_000);
    expect(await settled(waiting)).toBe(false);
    expect(slots.running).toBe(1);
    slots.releaseSlot(TASK);
    (await waiting).done();
    expect(slots.running).toBe(0);
  });

  it('when no room comes in time, then the starter goes ahead with what is free, and its listener hears of the timeout', async () => {
    const slots = new WorkflowTaskSlots(2);
    const waits: Array<[number, boolean]> = [];
    slots.onRoomWait((seconds, timedOut) => waits.push([seconds, timedOut]));
    (await slots.room(1, 50)).done();
    expect(waits).toEqual([[0, false]]);
    runTask(slots);
    const room = await slots.room(2, 50);
    expect(waits[1]![1]).toBe(true);
    expect(waits[1]![0]).toBeGreaterThanOrEqual(0.045);
    // The one free slot is set aside for it; none more.
    expect(slots.free).toBe(0);
    expect(slots.tryReserveSlot(CTX)).not.toBeNull();
    expect(slots.tryReserveSlot(CTX)).toBeNull();
    room.done();
  });
});

describe('workerCapacity', () => {
  it('when a worker is built from it, then the SDK takes the counting supplier for workflow tasks and fixed sizes for the rest', () => {
    const config = loadConfig({ NODE_ENV: 'test', WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '7', WORKER_MAX_CONCURRENT_ACTIVITIES: '9' });
    const slots = workflowTaskSlots(config);
    expect(slots.size).toBe(7);
    const compiled = compileWorkerOptions({ taskQueue: 'q', workflowBundle: { code: '' }, ...workerCapacity(config, slots) }, new DefaultLogger('ERROR'), noopMetricMeter);
    expect(compiled.tuner).toMatchObject({
      workflowTaskSlotSupplier: { type: 'custom' },
      activityTaskSlotSupplier: { type: 'fixed-size', numSlots: 9 },
      localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 9 },
    });
    // What the SDK calls is this supplier, behind its wrapper.
    const wrapped = (compiled.tuner as unknown as { workflowTaskSlotSupplier: WorkflowTaskSlots }).workflowTaskSlotSupplier;
    expect(wrapped.tryReserveSlot(CTX)).not.toBeNull();
    expect(slots.free).toBe(6);
  });
});
