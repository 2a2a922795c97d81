import type { RunResult } from '../../scripts/bench/measure';
import { summarize } from '../../scripts/bench/stats';
import { targets, type BenchResults } from '../../scripts/bench/targets';

/** A measured phase with only what the CPU targets read filled in. */
function run(name: string, workerMs: number): RunResult {
  const none = summarize([]);
  return {
    name,
    load: { kind: 'closed', concurrency: 32 },
    events: 1000,
    receiverRequests: 1000,
    durationS: 10,
    throughput: 100,
    e2e: none,
    accept: none,
    samples: { e2e: [], accept: [] },
    eagerStarts: null,
    workerPeakRssMb: null,
    workerLifetimePeakRssMb: null,
    workerReadyS: null,
    cpu: { bench: 0, api: null, worker: null, temporal: null, postgres: null, postgresAll: null },
    perDelivery: { cpuMs: { bench: 0, api: null, worker: workerMs, temporal: null, postgres: null }, sqlWorker: null, sqlApi: null },
    sql: null,
    ingestParts: null,
    history: null,
  };
}

const results = (runs: RunResult[]): BenchResults => ({ runs, fileStore: null, reads: null, fanout: null, rss: null, step: null, visibility: null, errors: [] });
const find = (list: ReturnType<typeof targets>, id: string) => list.find((t) => t.id === id)!;

describe('bench: the worker-CPU figures', () => {
  it('when the saturated and the steady-rate rounds ran, then the target takes the saturated rounds and the one-rate figure is reported beside it', () => {
    const list = targets(
      results([
        run('floor', 5),
        run('service', 7.5),
        run('floor (2)', 6),
        run('service (2)', 8.4),
        run('service@50%', 9.6),
        run('floor@50%', 8),
        run('service@50% (2)', 10),
        run('floor@50% (2)', 8),
      ]),
    );
    const saturated = find(list, 'workerCpu');
    expect(saturated.value).toBeCloseTo((1.5 + 1.4) / 2, 9);
    expect(saturated.verdict).toBe('MISS');
    const sameRate = find(list, 'workerCpuSameRate');
    expect(sameRate.value).toBeCloseTo((1.2 + 1.25) / 2, 9);
    expect(sameRate.verdict).toBe('reported');
    expect(sameRate.op).toBeNull();
    expect(sameRate.basis).toBe('median of 2 rounds: 1.200, 1.250 (service@50% / floor@50%)');
  });

  it('when no steady-rate round ran, then the one-rate figure is n/a and names the run it needs', () => {
    const sameRate = find(targets(results([run('floor', 5), run('service', 6)])), 'workerCpuSameRate');
    expect(sameRate.value).toBeNull();
    expect(sameRate.verdict).toBe('n/a');
    expect(sameRate.basis).toBe('latency run');
  });
});
