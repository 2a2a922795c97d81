/** The bench's side of the floor process (scripts/bench/floor-process.ts): spawn, tell, listen. */
import type { Client } from '@temporalio/client';
import { newId } from '../../src/ids';
import { eventBody } from '../../src/services/ingest';
import type { FloorItem, FromFloor, ToFloor } from './floor-protocol';
import { Cleanup, RUN_TAG } from './infra';
import type { LoadOutcome, LoadPlan } from './load';
import { BENCH_EVENT_TYPE, benchPayload } from './payload';
import type { RunContext, Subject } from './measure';
import { benchConfig, startProcess, workerEnv } from './service';
import { connectClient } from '../../src/temporal/client';
import { IpcRequests, type ChildWorker } from './procs';

/** The same body the service would send for this event (same shape and size), with a fresh id. */
export function sameSizeBody(index: number): FloorItem {
  const id = newId('evt');
  return { id, body: eventBody(id, { type: BENCH_EVENT_TYPE, payload: benchPayload(index) }, new Date()) };
}

/** Size in bytes of the body every run sends (for the report). */
export function bodyBytes(): number {
  return Buffer.byteLength(sameSizeBody(0).body);
}

export class FloorProcess {
  private readonly requests: IpcRequests<ToFloor, FromFloor>;
  private readonly workflowIdPrefix = `bench-floor-${RUN_TAG}-`;

  private constructor(
    private readonly ctx: RunContext,
    private readonly child: ChildWorker,
    private readonly readyS: number,
    private readonly client: Client,
  ) {
    this.requests = new IpcRequests(child, 'floor process');
  }

  /** Spawns the floor process on the run's Temporal server and waits until it polls; stopped by `scope`. */
  static async start(ctx: RunContext, scope: Cleanup): Promise<FloorProcess> {
    const taskQueue = `bench-floor-${RUN_TAG}`;
    const client = await connectClient(benchConfig(ctx, ctx.temporal, taskQueue), ctx.temporal.address);
    scope.add('close Temporal client', () => client.connection.close());
    const { child, readyS } = await startProcess(ctx, scope, {
      entry: 'scripts/bench/floor-process.ts',
      label: 'floor-process',
      env: workerEnv(ctx, ctx.temporal, taskQueue),
      taskQueue,
      client,
      namespace: ctx.temporal.namespace,
      ipc: true,
    });
    return new FloorProcess(ctx, child, readyS, client);
  }

  private async load(plan: LoadPlan, firstIndex: number, shown: boolean): Promise<LoadOutcome & { eager: number }> {
    const items = Array.from({ length: plan.count }, (_, i) => sameSizeBody(firstIndex + i));
    const url = `${this.ctx.receiver.url}/hooks/floor`;
    const answer = await this.requests.ask({ type: 'load', plan, url, workflowIdPrefix: this.workflowIdPrefix, items, shown });
    if (answer.type !== 'loaded') throw new Error(`floor process answered ${answer.type} to load`);
    return answer;
  }

  /** The workflow of the delivery whose receiver id is `id`, as the server describes it. */
  describe(id: string) {
    return this.client.workflow.getHandle(`${this.workflowIdPrefix}${id}`).describe();
  }

  /**
   * The floor as a subject; `shown`, its workflows started as the service starts a delivery (its
   * search attributes and display; see the visibility run). Both share the process and its counts.
   */
  subject(shown = false): Subject {
    return {
      load: (plan, firstIndex) => this.load(plan, firstIndex, shown),
      processes: [this.child],
      readyS: this.readyS,
      temporal: this.ctx.temporal,
      finished: async () => {
        const answer = await this.requests.ask({ type: 'posted' });
        return answer.type === 'posted' ? answer.posted : 0;
      },
      workflows: { client: this.client, workflowIdOf: (id) => `${this.workflowIdPrefix}${id}` },
    };
  }
}
