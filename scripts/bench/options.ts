/** Command-line options of `npm run bench`. */

/** The runs, in the order they run (see docs/benchmark.md). */
export const RUN_NAMES = ['floor', 'service', 'latency', 'one-process', 'floor-regular', 'direct', 'step', 'visibility', 'file', 'fifo', 'reads', 'fanout', 'rss'] as const;
export type RunName = (typeof RUN_NAMES)[number];

export interface BenchOptions {
  /** Measured deliveries per saturated run. */
  events: number;
  /** Requests (or workflow starts) in flight at once in saturated runs. */
  concurrency: number;
  /** Deliveries sent (and awaited) before each measured phase. */
  warmup: number;
  runs: RunName[];
  /** Length of each 50 %-load run, s. */
  latencySeconds: number;
  /** Offered rate of the 50 %-load runs, deliveries/s; null: half the service run's throughput. */
  rate: number | null;
  /** Attempts (and audit entries) stored for the large tenant of the reads run. */
  attempts: number;
  /** Calls per measured read. */
  readCalls: number;
  /** Endpoints one event fans out to. */
  fanout: number;
  /** Events sent to one FIFO endpoint in the fifo run. */
  fifoEvents: number;
  /** Events accepted at once for the worker-RSS run. */
  inFlight: number;
  /** How long the receiver holds each request in the worker-RSS run, ms. */
  holdMs: number;
  /** How long a measured phase may take before the bench gives up, ms (0: derived from its size). */
  timeoutMs: number;
  /** The Temporal server of the delivery runs: an in-memory dev server, or a server on Postgres. */
  temporal: 'dev' | 'cluster';
  /** Worker processes of each service stack. */
  workers: number;
  /** Rounds of the saturated floor, service and one-process phases (targets take the median round). */
  repeat: number;
  quick: boolean;
  json: boolean;
  /** Where each measured delivery of the delivery runs is written (TSV), or null. */
  samplesFile: string | null;
  help: boolean;
}

/** The share of the service's measured throughput offered in the latency runs. */
export const LATENCY_LOAD_SHARE = 0.5;

const DEFAULTS = {
  events: 1000,
  concurrency: 32,
  warmup: 50,
  latencySeconds: 30,
  attempts: 100_000,
  readCalls: 50,
  fanout: 1000,
  fifoEvents: 300,
  inFlight: 1000,
  holdMs: 1500,
};
const QUICK: Partial<typeof DEFAULTS> = { events: 200, warmup: 20, latencySeconds: 10, attempts: 10_000, readCalls: 20, fanout: 200, inFlight: 200, fifoEvents: 100 };

export const USAGE = `usage: npm run bench -- [options]

Measures the webhook service against the least a Temporal delivery costs on the same machine
("floor": one process, eager start, one local activity that POSTs), in one run; see
docs/benchmark.md for what each run and figure is.

  --runs LIST          comma-separated subset of ${RUN_NAMES.join(',')}
                       (default all; latency and one-process need service or --rate)
  --events N           measured deliveries per saturated run (default ${DEFAULTS.events})
  --concurrency C      requests / workflow starts in flight in saturated runs (default ${DEFAULTS.concurrency})
  --warmup W           warm-up deliveries before each measured phase (default ${DEFAULTS.warmup})
  --latency-seconds S  length of each 50 %-load run (default ${DEFAULTS.latencySeconds})
  --rate R             offered deliveries/s of the latency runs (default: half the service's throughput)
  --attempts N         attempts and audit entries stored for the reads run's large tenant (default ${DEFAULTS.attempts})
  --read-calls N       calls per measured read (default ${DEFAULTS.readCalls})
  --fanout N           endpoints one event fans out to (default ${DEFAULTS.fanout})
  --fifo-events N      events sent to one FIFO endpoint in the fifo run (default ${DEFAULTS.fifoEvents})
  --in-flight N        events accepted at once in the worker-RSS run (default ${DEFAULTS.inFlight})
  --hold-ms MS         how long the receiver holds each request in that run (default ${DEFAULTS.holdMs})
  --timeout S          give up on a phase after S seconds (default: from its size)
  --temporal KIND      dev (default: an in-memory dev server) or cluster (Temporal on Postgres,
                       as \`npm run cluster\` runs it, with databases of its own, dropped after)
  --workers N          worker processes of each service stack, on one task queue (default 1)
  --repeat N           rounds of the saturated floor, service and one-process phases, measured in
                       turn; each target takes the median of its per-round ratios (default 1)
  --quick              smaller sizes: ${Object.entries(QUICK).map(([k, v]) => `${k} ${v}`).join(', ')}
                       (explicit options still win)
  --json               print machine-readable JSON on stdout instead of the tables
  --samples FILE       write every measured delivery of the delivery runs to FILE (TSV: phase,
                       request sent at (epoch ms), ingest ms, e2e ms; then the phase's
                       GET /healthz probes, e2e empty), and stamp the child processes' output
                       lines with epoch ms, to line the two up
  -h, --help           this text

Environment: TEMPORAL_ADDRESS (use that server instead of starting one; the file run always
starts its own), TEMPORAL_CLUSTER_SHARDS (history shards of --temporal cluster, default 4),
DATABASE_URL (use that database instead of creating webhooks_bench_<pid> on BENCH_DATABASE_URL,
default postgres://postgres@127.0.0.1:5432/postgres), BENCH_LOG_LEVEL (bench and API log level, default warn; logs go to stderr). Settings such as
WORKER_MAX_CONCURRENT_ACTIVITIES apply to the service worker and the floor process alike.
`;

export class UsageError extends Error {
  override name = 'UsageError';
}

function number(flag: string, raw: string | undefined, min: number, integer = true): number {
  const value = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min) {
    throw new UsageError(`${flag} needs ${integer ? 'an integer' : 'a number'} >= ${min} (got ${raw ?? 'nothing'})`);
  }
  return value;
}

const INT_FLAGS: Record<string, [keyof typeof DEFAULTS, number]> = {
  '--events': ['events', 1],
  '--concurrency': ['concurrency', 1],
  '--warmup': ['warmup', 0],
  '--latency-seconds': ['latencySeconds', 1],
  '--attempts': ['attempts', 1],
  '--read-calls': ['readCalls', 1],
  '--fanout': ['fanout', 1],
  '--fifo-events': ['fifoEvents', 1],
  '--in-flight': ['inFlight', 1],
  '--hold-ms': ['holdMs', 0],
};

export function parseOptions(argv: readonly string[]): BenchOptions {
  const given: Partial<typeof DEFAULTS> = {};
  let runs: RunName[] = [...RUN_NAMES];
  let rate: number | null = null;
  let timeoutS: number | null = null;
  let quick = false;
  let temporal: BenchOptions['temporal'] = 'dev';
  let workers = 1;
  let repeat = 1;
  let json = false;
  let samplesFile: string | null = null;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const [flag, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    const int = INT_FLAGS[flag];
    if (int) {
      given[int[0]] = number(flag, value(), int[1]);
      continue;
    }
    switch (flag) {
      case '--rate':
        rate = number(flag, value(), 0.1, false);
        break;
      case '--timeout':
        timeoutS = number(flag, value(), 1);
        break;
      case '--runs': {
        const list = (value() ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
        const bad = list.filter((s) => !(RUN_NAMES as readonly string[]).includes(s));
        if (list.length === 0 || bad.length > 0) throw new UsageError(`--runs takes a list of ${RUN_NAMES.join(',')}${bad.length ? ` (unknown: ${bad.join(',')})` : ''}`);
        runs = RUN_NAMES.filter((name) => list.includes(name));
        break;
      }
      case '--quick':
        quick = true;
        break;
      case '--temporal': {
        const kind = value();
        if (kind !== 'dev' && kind !== 'cluster') throw new UsageError(`--temporal takes dev or cluster (got ${kind ?? 'nothing'})`);
        temporal = kind;
        break;
      }
      case '--workers':
        workers = number(flag, value(), 1);
        break;
      case '--repeat':
        repeat = number(flag, value(), 1);
        break;
      case '--json':
        json = true;
        break;
      case '--samples': {
        const file = value();
        if (file === undefined || file.trim() === '' || file.startsWith('--')) throw new UsageError('--samples needs a file to write');
        samplesFile = file;
        break;
      }
      case '-h':
      case '--help':
        help = true;
        break;
      default:
        throw new UsageError(`unknown argument: ${arg}`);
    }
  }
  if ((runs.includes('latency') || runs.includes('one-process')) && !runs.includes('service') && rate === null) {
    throw new UsageError('--runs latency and one-process need the service run (its throughput sets the rate) or --rate R');
  }
  const sizes = { ...DEFAULTS, ...(quick ? QUICK : {}), ...given };
  return { ...sizes, runs, rate, timeoutMs: (timeoutS ?? 0) * 1000, temporal, workers, repeat, quick, json, samplesFile, help };
}

/** How long a phase of `deliveries` may take: the --timeout, or 60 s + 100 ms per delivery. */
export function phaseTimeoutMs(opts: BenchOptions, deliveries: number): number {
  return opts.timeoutMs > 0 ? opts.timeoutMs : 60_000 + deliveries * 100;
}
