import type { CustomSlotSupplier, SlotMarkUsedContext, SlotPermit, SlotReleaseContext, SlotReserveContext, WorkflowSlotInfo } from '@temporalio/worker';

/**
 * How long eager starts wait for the worker to have a free workflow-task slot for each of them:
 * long enough for a saturated worker to finish some tasks (a delivery's first task takes a few
 * ms plus the receiver's answer), short enough that a worker whose tasks hang does not hold the
 * ingest up for long. After it, the starts are made anyway and those without a slot are queued.
 */
export const EAGER_ROOM_WAIT_MS = 1_000;

/** A poll's permit, and an eager start's: all a permit carries is which of the two it is. */
const POLL_PERMIT: SlotPermit = Object.freeze({ poll: true });
const START_PERMIT: SlotPermit = Object.freeze({ poll: false });
const isPollPermit = (permit: SlotPermit) => (permit as { poll?: boolean }).poll === true;

/** Slots set aside for one caller's starts; its starts' reservations take them first. */
interface Grant {
  left: number;
}

/**
 * A worker's workflow-task slots, counted where the SDK hands them out, so that whoever starts
 * deliveries eagerly on this worker can wait for room first.
 *
 * An eager start only runs eagerly when the worker has a free workflow-task slot at the moment of
 * the start (the SDK's `tryReserveSlot`); otherwise its first task is queued on the server, which
 * costs the server about a third more CPU per delivery (docs/benchmark.md). A saturated worker
 * frees a slot only when a task's completion has been answered, later than anything visible
 * outside the SDK, so only the supplier itself knows when there is room. {@link room} waits for
 * it, up to a bound, and sets the slots aside for the caller's starts until they are answered;
 * while the worker is saturated this also holds the ingest back.
 *
 * The limit is the fixed-size supplier's (WORKER_MAX_CONCURRENT_WORKFLOW_TASKS). A freed slot goes
 * to a waiting poll first, then to waiting starters, each in the order they came.
 */
export class WorkflowTaskSlots implements CustomSlotSupplier<WorkflowSlotInfo> {
  readonly type = 'custom' as const;
  /** Slots reserved: by polls, by tasks in progress, by eager starts. */
  private held = 0;
  /** Of those, slots held by open polls (not yet given a task). */
  private polling = 0;
  /** Slots set aside for starts that have not reserved them yet. */
  private promised = 0;
  private readonly grants: Grant[] = [];
  /** Polls waiting for a slot, in order. */
  private readonly polls: Array<() => void> = [];
  /** Starters waiting for room, in order. */
  private readonly starters: Array<{ n: number; admit: () => void }> = [];

  /** Told of each {@link room}: how long it waited, and whether it gave up waiting (the metrics' listener). */
  private readonly waitListeners: Array<(seconds: number, timedOut: boolean) => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`workflow-task slots: a positive integer, not ${size}`);
  }

  /** Slots neither reserved nor set aside for starts. */
  get free(): number {
    return this.size - this.held - this.promised;
  }

  /** Slots running a workflow task, or about to (an eager start's). */
  get running(): number {
    return this.held - this.polling;
  }

  reserveSlot(_ctx: SlotReserveContext, abortSignal: AbortSignal): Promise<SlotPermit> {
    if (abortSignal.aborted) return Promise.reject(abortSignal.reason);
    if (this.free > 0 && this.polls.length === 0) {
      this.held++;
      this.polling++;
      return Promise.resolve(POLL_PERMIT);
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        abortSignal.removeEventListener('abort', abort);
        this.held++;
        this.polling++;
        resolve(POLL_PERMIT);
      };
      // The SDK no longer needs this slot (a poller stopped, the worker shuts down): it expects
      // the signal's own reason back, which it does not log as an error.
      const abort = () => {
        const at = this.polls.indexOf(grant);
        if (at >= 0) this.polls.splice(at, 1);
        reject(abortSignal.reason);
      };
      abortSignal.addEventListener('abort', abort, { once: true });
      this.polls.push(grant);
    });
  }

  /** An eager start's reservation (it must not wait): a slot set aside for starts, else a free one. */
  tryReserveSlot(_ctx: SlotReserveContext): SlotPermit | null {
    const grant = this.grants.find((g) => g.left > 0);
    if (grant) {
      grant.left--;
      this.promised--;
    } else if (this.free <= 0) {
      return null;
    }
    this.held++;
    return START_PERMIT;
  }

  markSlotUsed(ctx: SlotMarkUsedContext<WorkflowSlotInfo>): void {
    if (isPollPermit(ctx.permit)) this.polling--;
  }

  releaseSlot(ctx: SlotReleaseContext<WorkflowSlotInfo>): void {
    this.held--;
    if (!ctx.slotInfo && isPollPermit(ctx.permit)) this.polling--;
    this.handOut();
  }

  /**
   * Waits until `n` slots are free (at most all of them), or `maxWaitMs` has passed, and sets
   * aside as many of them as there are then (up to `n`) for the caller's starts. Call `done`
   * once the starts are answered: what they did not take is freed.
   */
  room(n: number, maxWaitMs: number): Promise<{ done(): void }> {
    const wanted = Math.min(n, this.size);
    // Slots held by open polls come back to polls, never to starts; the others free up as their
    // tasks finish. When the polls alone leave too little (more polls than slots, say), waiting
    // cannot help.
    const reachable = wanted <= this.size - this.polling;
    if (!reachable || (this.starters.length === 0 && wanted <= this.free)) {
      this.waited(0, false);
      return Promise.resolve(this.setAside(Math.min(wanted, this.free)));
    }
    const since = performance.now();
    return new Promise((resolve) => {
      const starter = {
        n: wanted,
        admit: (timedOut = false) => {
          clearTimeout(timer);
          this.starters.splice(this.starters.indexOf(starter), 1);
          this.waited((performance.now() - since) / 1000, timedOut);
          resolve(this.setAside(Math.min(wanted, this.free)));
        },
      };
      const timer = setTimeout(() => {
        starter.admit(true);
        // Those behind it may fit now.
        this.handOut();
      }, maxWaitMs);
      // A wait keeps no process alive: one that is exiting has no use for the start.
      timer.unref();
      this.starters.push(starter);
    });
  }

  /** Calls `listener` after each {@link room} with its wait in seconds (0 when there was room) and whether it timed out. */
  onRoomWait(listener: (seconds: number, timedOut: boolean) => void): void {
    this.waitListeners.push(listener);
  }

  private waited(seconds: number, timedOut: boolean): void {
    for (const listener of this.waitListeners) listener(seconds, timedOut);
  }

  private setAside(count: number): { done(): void } {
    const grant: Grant = { left: Math.max(0, count) };
    this.promised += grant.left;
    this.grants.push(grant);
    return {
      done: () => {
        const at = this.grants.indexOf(grant);
        if (at < 0) return;
        this.grants.splice(at, 1);
        this.promised -= grant.left;
        grant.left = 0;
        this.handOut();
      },
    };
  }

  /** Gives free slots to waiting polls, then admits the starters that fit, in order. */
  private handOut(): void {
    while (this.free > 0 && this.polls.length > 0) this.polls.shift()!();
    while (this.starters.length > 0 && this.starters[0]!.n <= this.free) this.starters[0]!.admit();
  }
}
