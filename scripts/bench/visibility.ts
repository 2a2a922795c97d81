/**
 * visibility: what a delivery's visibility costs, measured on the floor. The service starts
 * each delivery with five search attributes and a static summary and details, and its attempt
 * step carries a summary: what operators filter and read in the Temporal Web UI (SPEC: "search
 * attributes on every delivery"). The floor, by design, carries none of it. One floor process on
 * one dev server delivers in alternating phases, its workflows started plainly, then as the
 * service starts a delivery (made by the service's own functions), so both arms share the
 * process, the server and the machine's moments. The difference is a cost the service pays for
 * what the spec asks and the floor does not: it sits inside the worker's and Temporal's ratios.
 */
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes';
import { FloorProcess } from './floor';
import { Cleanup, startTemporal } from './infra';
import type { LoadPlan } from './load';
import { phaseRunner, type RunContext, type RunResult, type Subject } from './measure';
import { median, ratio } from './stats';

/** Pairs of phases (plain, shown), each pair in the other order than the one before it. */
const PAIRS = 4;

/** CPU per delivery of one arm, ms. */
export interface VisibilityArm {
  /** The floor process (its worker, client and load generator). */
  workerMs: number;
  temporalMs: number | null;
  /** History events of its workflows: the median of its phases' medians. */
  historyEvents: number | null;
}

export interface VisibilityResult {
  /** Deliveries per phase. */
  deliveries: number;
  concurrency: number;
  /** Each pair's two arms. */
  pairs: Array<{ plain: VisibilityArm; shown: VisibilityArm }>;
  /** Over all pairs: CPU of all phases of an arm ÷ its deliveries. */
  plain: VisibilityArm;
  shown: VisibilityArm;
  /** shown ÷ plain. */
  workerRatio: number | null;
  temporalRatio: number | null;
  /** The service's search attributes a shown workflow carried, read back from one; of `searchAttributesExpected`. */
  searchAttributes: number;
  searchAttributesExpected: number;
}

function arm(results: readonly RunResult[]): VisibilityArm {
  const n = results.reduce((sum, r) => sum + r.events, 0);
  const sum = (pick: (r: RunResult) => number | null) => {
    const values = results.map(pick);
    return values.some((v) => v === null) ? null : (values as number[]).reduce((a, b) => a + b, 0);
  };
  const worker = sum((r) => r.cpu.worker);
  const temporal = sum((r) => r.cpu.temporal);
  const events = results.map((r) => r.history?.events ?? null).filter((v): v is number => v !== null);
  return {
    workerMs: ((worker ?? 0) * 1000) / n,
    temporalMs: temporal === null ? null : (temporal * 1000) / n,
    historyEvents: events.length ? median(events) : null,
  };
}

export async function runVisibility(ctx: RunContext): Promise<VisibilityResult> {
  const scope = new Cleanup(ctx.log);
  try {
    // A server of its own, as each core subject has: it grows by both arms alike.
    const temporal = ctx.temporal.store === 'in-memory' ? await startTemporal(ctx.log, scope, 'dev') : ctx.temporal;
    const floor = await FloorProcess.start({ ...ctx, temporal }, scope);
    const plain = floor.subject();
    let lastShown: string | undefined;
    const shownFloor = floor.subject(true);
    const shown: Subject = {
      ...shownFloor,
      load: async (plan, first) => {
        const outcome = await shownFloor.load(plan, first);
        lastShown = outcome.samples.at(-1)?.id ?? lastShown;
        return outcome;
      },
    };
    const plan: LoadPlan = { kind: 'closed', count: ctx.opts.events, concurrency: ctx.opts.concurrency };
    const pairs: Array<{ plain: RunResult; shown: RunResult }> = [];
    const measured = phaseRunner(ctx);
    const phase = (name: string, subject: Subject) => measured(name, subject, plan);
    for (let pair = 1; pair <= PAIRS; pair++) {
      const plainFirst = pair % 2 === 1;
      const first = await phase(`visibility ${pair}: ${plainFirst ? 'plain' : 'shown'}`, plainFirst ? plain : shown);
      const second = await phase(`visibility ${pair}: ${plainFirst ? 'shown' : 'plain'}`, plainFirst ? shown : plain);
      pairs.push(plainFirst ? { plain: first, shown: second } : { plain: second, shown: first });
    }

    // The shown arm carried what the service's starts carry (not a silently plain start).
    if (lastShown === undefined) throw new Error('visibility: no shown delivery to read back');
    const described = await floor.describe(lastShown);
    const carried = SEARCH_ATTRIBUTES.filter((key) => described.typedSearchAttributes.get(key) !== undefined).length;
    if (carried !== SEARCH_ATTRIBUTES.length) throw new Error(`visibility: a shown workflow carried ${carried} of the service's ${SEARCH_ATTRIBUTES.length} search attributes`);

    const plainArm = arm(pairs.map((p) => p.plain));
    const shownArm = arm(pairs.map((p) => p.shown));
    return {
      deliveries: plan.count,
      concurrency: plan.concurrency,
      pairs: pairs.map((p) => ({ plain: arm([p.plain]), shown: arm([p.shown]) })),
      plain: plainArm,
      shown: shownArm,
      workerRatio: ratio(shownArm.workerMs, plainArm.workerMs),
      temporalRatio: ratio(shownArm.temporalMs, plainArm.temporalMs),
      searchAttributes: carried,
      searchAttributesExpected: SEARCH_ATTRIBUTES.length,
    };
  } finally {
    await scope.run();
  }
}
