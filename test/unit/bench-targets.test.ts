import os from 'node:os';
import { coresBusy, type RunResult } from '../../scripts/bench/measure';
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
    probe: null,
    samples: { e2e: [], accept: [], probe: [] },
    eagerStarts: null,
    workerPeakRssMb: null,
    workerLifetimePeakRssMb: null,
    workerReadyS: null,
    cpu: { bench: 0, api: null, worker: null, temporal: null, postgres: null, postgresAll: null },
    coresBusy: null,
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

describe("bench: the ingest tail beside the API's simplest answer", () => {
  /** A half-load round of the service with these ingest times and these GET /healthz times. */
  const round = (accept: number[], probe: number[]): RunResult => ({
    ...run('service@50%', 10),
    load: { kind: 'open', ratePerS: 40, maxLagMs: 0 },
    accept: summarize(accept),
    probe: probe.length ? summarize(probe) : null,
    samples: { e2e: accept, accept, probe },
  });
  const ms = (n: number, from: number) => Array.from({ length: n }, (_, i) => from + i);

  it("when GET /healthz was timed beside the ingest requests, then the target's basis gives its p99, the rounds pooled", () => {
    // 100 probes per round; pooled, the p99 is the 198th of the 200 sorted times: 198 ms of the
    // probes, 117 ms of the ingest requests (whose rounds hold 10-109 and 20-119 ms).
    const ingest = find(targets(results([round(ms(100, 10), ms(100, 1)), round(ms(100, 20), ms(100, 101))])), 'latencyIngestP99');
    expect(ingest.basis).toContain("the API's GET /healthz meanwhile: p99 198.0 ms");
    expect(ingest.value).toBe(117);
  });

  it('when nothing was timed beside them, then the basis says nothing of it', () => {
    const ingest = find(targets(results([round(ms(100, 10), [])])), 'latencyIngestP99');
    expect(ingest.basis).not.toContain('healthz');
    expect(ingest.basis).not.toContain('busy');
  });

  it("when the rounds' CPU was measured, then the basis says how busy they kept the machine's cores, on average", () => {
    const busy = (coresBusy: number) => ({ ...round(ms(100, 10), []), coresBusy });
    const ingest = find(targets(results([busy(0.7), busy(0.84)])), 'latencyIngestP99');
    expect(ingest.basis).toMatch(/; the machine's cores 77 % busy with it$/);
  });
});

describe('bench: how busy a phase kept the cores', () => {
  const cpuMs = { bench: 0.5, api: 2, worker: 6, temporal: 5, postgres: 1.5 };

  it('when 1,000 deliveries took 15 CPU ms each over 10 s, then that is 1.5 cores, a share of however many the machine has', () => {
    expect(coresBusy(cpuMs, 1000, 10)).toBeCloseTo(1.5 / os.cpus().length, 9);
  });

  it('when no delivering process was measured, or the window is empty, then it is unknown', () => {
    expect(coresBusy({ ...cpuMs, worker: null }, 1000, 10)).toBeNull();
    expect(coresBusy(cpuMs, 1000, 0)).toBeNull();
  });
});
