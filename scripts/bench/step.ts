/**
 * step: the delivery step alone. A process of its own (scripts/bench/step-process.ts) calls
 * `deliverAttempt` directly, without Temporal, on deliveries stored as ingest leaves them, and in
 * turn the floor's activity (the same body POSTed to the same receiver); the bench reads that
 * process's CPU and the database's around each round. What the worker spends beyond the floor
 * process is this step's cost beyond the floor's activity plus what Temporal's SDK spends on a
 * bigger workflow; this run tells the first apart, with little noise (no Temporal server and no
 * workflow sandbox share the measurement).
 */
import { migrate } from '../../src/db/knex';
import knexFactory from 'knex';
import { Cleanup, createDatabase, progress, RUN_TAG } from './infra';
import type { RunContext } from './measure';
import { PostgresCpu } from './pg-cpu';
import { ChildWorker, IpcRequests } from './procs';
import { workerEnv } from './service';
import { median, ratio } from './stats';
import type { FromStep, ToStep } from './step-protocol';

/** Measured rounds (each: the floor's activity, then the step). */
const ROUNDS = 3;
/**
 * Calls of each before the first round: the step's code is large, and V8 was still optimizing it
 * after 500 calls (the first round cost 1.4× the later ones); a worker that runs for hours is past that.
 */
const WARMUP_CALLS = 2000;

export interface StepRound {
  /** CPU of the step process per call, ms. */
  stepMs: number;
  floorMs: number;
  /** CPU of the database's backends per step, ms (null: Postgres is not on this machine). */
  postgresMs: number | null;
  /** Multixacts Postgres made per step (row locks shared by overlapping transactions). */
  multixacts: number;
}

export interface StepResult {
  calls: number;
  concurrency: number;
  warmupCalls: number;
  rounds: StepRound[];
  /** Medians of the rounds. */
  stepMs: number;
  floorMs: number;
  postgresMs: number | null;
  multixacts: number;
  /** stepMs ÷ floorMs. */
  ratio: number | null;
  sqlPerStep: number;
  /** Calls that did not deliver (should be 0). */
  failed: number;
}

export async function runStep(ctx: RunContext): Promise<StepResult> {
  const scope = new Cleanup(ctx.log);
  try {
    const url = await createDatabase(`webhooks_bench_step_${process.pid}`, scope);
    const admin = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
    scope.add('close the step database', () => admin.destroy());
    await migrate(admin, 'default');
    const pg = new PostgresCpu(url);
    scope.add('stop Postgres CPU sampling', () => pg.close());
    // The server's multixact counter (it is the cluster's: nothing else runs on it meanwhile).
    const multixactsMade = async () => Number((await admin.raw<{ rows: Array<{ n: string }> }>('select mxid_age(datminmxid)::text as n from pg_database where datname = current_database()')).rows[0]!.n);

    const calls = ctx.opts.events;
    const concurrency = ctx.opts.concurrency;
    const warmupCalls = ctx.opts.quick ? 500 : WARMUP_CALLS;
    progress(`step: starting its process; ${ROUNDS} rounds of ${calls} calls (after ${warmupCalls}) at concurrency ${concurrency}`);
    const child = ChildWorker.spawn('scripts/bench/step-process.ts', { ...workerEnv(ctx, ctx.temporal, `bench-step-${RUN_TAG}`, { databaseUrl: url }) }, 'step', { ipc: true });
    scope.add('stop the step process', () => child.stop());
    ctx.cleanup.add('stop the step process', () => child.stop());
    const requests = new IpcRequests<ToStep, FromStep>(child, 'step process');
    await Promise.race([requests.ready, child.exited.then(() => Promise.reject(new Error(`the step process exited before it was ready:\n${child.output()}`)))]);
    await requests.ask({ type: 'prepare', url: `${ctx.receiver.url}/hooks/step`, count: warmupCalls + ROUNDS * calls });

    let queries = 0;
    let failed = 0;
    const round = async (kind: 'step' | 'floor', count: number) => {
      const done = await requests.ask({ type: 'round', kind, count, concurrency });
      if (done.type !== 'done') throw new Error(`step process answered ${done.type} to a round`);
      return { ms: done.cpuMs / count, queries: done.queries, failed: done.failed };
    };
    await round('floor', warmupCalls);
    await round('step', warmupCalls);
    const rounds: StepRound[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const floor = await round('floor', calls);
      await pg.begin();
      const mx = await multixactsMade();
      const step = await round('step', calls);
      const pgS = await pg.end();
      const multixacts = ((await multixactsMade()) - mx) / calls;
      queries += step.queries;
      failed += step.failed + floor.failed;
      rounds.push({ stepMs: step.ms, floorMs: floor.ms, postgresMs: pgS === null ? null : (pgS * 1000) / calls, multixacts });
      progress(`step: round ${i + 1}: ${step.ms.toFixed(3)} ms of CPU per step, ${floor.ms.toFixed(3)} per floor activity`);
    }
    const stepMs = median(rounds.map((r) => r.stepMs))!;
    const floorMs = median(rounds.map((r) => r.floorMs))!;
    const pgRounds = rounds.map((r) => r.postgresMs).filter((v): v is number => v !== null);
    return {
      calls,
      concurrency,
      warmupCalls,
      rounds,
      stepMs,
      floorMs,
      postgresMs: pgRounds.length ? median(pgRounds) : null,
      multixacts: median(rounds.map((r) => r.multixacts)),
      ratio: ratio(stepMs, floorMs),
      sqlPerStep: queries / (ROUNDS * calls),
      failed,
    };
  } finally {
    await scope.run();
  }
}
