/** The report's header facts, and the `--json` document (the text tables are in report-text.ts). */
import os from 'node:os';
import { cpuMsAll, type CpuMs, type RunResult } from './measure';
import type { BenchOptions } from './options';
import { benchProcessEnv } from './procs';
import { ingestPartQuantiles } from './prom';
import { round, type Summary } from './stats';
import { targets, type BenchResults } from './targets';
import type { RssPhase } from './rss';
import type { VisibilityArm } from './visibility';

export interface ReportMeta {
  date: string;
  node: string;
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  temporal: string;
  database: string;
  options: Omit<BenchOptions, 'json' | 'help'>;
  bodyBytes: number;
  /** The process environment every Node process of the run got beyond its settings (`benchProcessEnv`). */
  processEnv: Record<string, string>;
}

export function reportMeta(opts: BenchOptions, temporal: string, database: string, bodyBytes: number): ReportMeta {
  const cpus = os.cpus();
  const { json: _json, help: _help, ...options } = opts;
  return { date: new Date().toISOString(), node: process.version, cpus: cpus.length, cpuModel: cpus[0]?.model.trim() ?? 'unknown', memoryGb: round(os.totalmem() / 1024 ** 3, 1), temporal, database, options, bodyBytes, processEnv: benchProcessEnv() };
}

const r = (v: number | null | undefined, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? null : round(v, d));

/** CPU ms per delivery by process, and their sum, to 0.01 ms. */
const cpuMsJson = (c: CpuMs) => ({ worker: r(c.worker, 2), temporal: r(c.temporal, 2), postgres: r(c.postgres, 2), api: r(c.api, 2), bench: r(c.bench, 2), all: r(cpuMsAll(c), 2) });
const summary = (s: Summary) => ({ p50: r(s.p50), p90: r(s.p90), p99: r(s.p99), max: r(s.max), mean: r(s.mean) });

function runJson(x: RunResult) {
  return {
    load: x.load.kind === 'closed' ? x.load : { ...x.load, ratePerS: r(x.load.ratePerS, 2), maxLagMs: r(x.load.maxLagMs) },
    events: x.events,
    receiverRequests: x.receiverRequests,
    durationS: r(x.durationS, 3),
    deliveriesPerS: r(x.throughput),
    e2eMs: summary(x.e2e),
    acceptMs: summary(x.accept),
    healthzMs: x.probe && summary(x.probe),
    ingestPartsMs: x.ingestParts && Object.fromEntries(Object.entries(x.ingestParts).map(([part, buckets]) => [part, ingestPartQuantiles(buckets)])),
    eagerStarts: x.eagerStarts,
    perDelivery: {
      cpuMs: cpuMsJson(x.perDelivery.cpuMs),
      sqlStatementsWorker: r(x.perDelivery.sqlWorker, 2),
      sqlStatementsApi: r(x.perDelivery.sqlApi, 2),
      historyEvents: x.history?.events ?? null,
      workflowTasks: x.history?.workflowTasks ?? null,
    },
    sqlStatements: x.sql,
    coresBusyPercent: r(x.coresBusy === null ? null : x.coresBusy * 100),
    cpuS: { worker: r(x.cpu.worker, 2), temporal: r(x.cpu.temporal, 2), postgres: r(x.cpu.postgres, 2), postgresAll: r(x.cpu.postgresAll, 2), api: r(x.cpu.api, 2), bench: r(x.cpu.bench, 2) },
    workerPeakRssMb: r(x.workerPeakRssMb),
    workerLifetimePeakRssMb: r(x.workerLifetimePeakRssMb),
    workerReadyS: r(x.workerReadyS),
    history: x.history && {
      sampledWorkflows: x.history.sampled,
      wftQueueMs: r(x.history.wftQueue),
      wftRunMs: r(x.history.wftRun),
      activityQueueMs: r(x.history.activityQueue),
      activityRunMs: r(x.history.activityRun),
      startToCloseMs: r(x.history.total),
    },
  };
}

function rssPhase(p: RssPhase) {
  const { events, holdMs, peakInFlight, peakAtReceiver } = p;
  return { events, holdMs, peakInFlight, peakAtReceiver, workerBaselineRssMb: r(p.workerBaselineRssMb), workerPeakRssMb: r(p.workerPeakRssMb), workerPeakFileRssMb: r(p.workerPeakFileRssMb), acceptS: r(p.acceptS, 2), durationS: r(p.durationS, 2) };
}

/** The `--json` document. */
export function jsonReport(meta: ReportMeta, results: BenchResults): unknown {
  const { reads, fanout, rss, step, visibility } = results;
  const shownArm = (a: VisibilityArm) => ({ workerMs: r(a.workerMs, 3), temporalMs: r(a.temporalMs, 3), historyEvents: a.historyEvents });
  return {
    meta: { ...meta, fileStore: results.fileStore },
    runs: Object.fromEntries(results.runs.map((x) => [x.name, runJson(x)])),
    reads: reads && {
      tenants: reads.tenants,
      seedS: r(reads.seedS, 2),
      probes: reads.probes.map((p) => ({ read: p.read, smallMs: summary(p.small), largeMs: summary(p.large), p50Ratio: r(p.p50Ratio, 2), p99Ratio: r(p.p99Ratio, 2) })),
    },
    fanout: fanout && {
      ...fanout,
      ingestMs: r(fanout.ingestMs),
      firstDeliveryMs: r(fanout.firstDeliveryMs),
      lastDeliveryMs: r(fanout.lastDeliveryMs),
      deliveriesPerS: r(fanout.deliveriesPerS),
      e2e: summary(fanout.e2e),
      perDelivery: {
        cpuMs: cpuMsJson(fanout.perDelivery.cpuMs),
        sqlStatementsWorker: r(fanout.perDelivery.sqlWorker, 2),
        sqlStatementsApi: r(fanout.perDelivery.sqlApi, 2),
      },
      workerPeakRssMb: r(fanout.workerPeakRssMb),
    },
    step: step && {
      ...step,
      rounds: step.rounds.map((x) => ({ stepMs: r(x.stepMs, 3), floorMs: r(x.floorMs, 3), postgresMs: r(x.postgresMs, 3), multixacts: r(x.multixacts, 3) })),
      stepMs: r(step.stepMs, 3),
      floorMs: r(step.floorMs, 3),
      postgresMs: r(step.postgresMs, 3),
      multixacts: r(step.multixacts, 3),
      ratio: r(step.ratio, 2),
      sqlPerStep: r(step.sqlPerStep, 2),
    },
    visibility: visibility && {
      ...visibility,
      pairs: visibility.pairs.map((p) => ({ plain: shownArm(p.plain), shown: shownArm(p.shown) })),
      plain: shownArm(visibility.plain),
      shown: shownArm(visibility.shown),
      workerRatio: r(visibility.workerRatio, 3),
      temporalRatio: r(visibility.temporalRatio, 3),
    },
    rss: rss && { ...rssPhase(rss), mainThread: rssPhase(rss.mainThread), capped: { ...rssPhase(rss.capped), nodeOptions: rss.capped.nodeOptions }, heapGrowth: rssPhase(rss.heapGrowth) },
    errors: results.errors,
    targets: targets(results).map((t) => ({ ...t, value: r(t.value, t.unit === '×' ? 3 : 1) })),
  };
}
