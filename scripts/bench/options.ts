/** Command-line options of `npm run bench`. */

export type RunName = 'service' | 'floor' | 'direct';
export const RUN_NAMES: readonly RunName[] = ['service', 'floor', 'direct'];

export interface BenchOptions {
  /** Measured deliveries per run. */
  events: number;
  /** Requests (or workflow starts) in flight at once. */
  concurrency: number;
  /** Deliveries sent (and awaited) before each measured phase. */
  warmup: number;
  /** Runs to perform, in this order. */
  runs: RunName[];
  /** How long a measured phase may take before the bench gives up, ms. */
  timeoutMs: number;
  json: boolean;
  help: boolean;
}

export const USAGE = `usage: npm run bench -- [options]

Measures the webhook service end to end against a one-activity Temporal workflow ("floor")
and direct POSTs ("direct"), all delivering to the same local receiver.

  --events N         measured deliveries per run (default 1000)
  --concurrency C    requests / workflow starts in flight at once (default 32)
  --warmup W         warm-up deliveries before each run (default 50)
  --runs LIST        comma-separated subset of service,floor,direct (default all three)
  --timeout S        give up on a run after S seconds (default 60 + N/10)
  --json             print machine-readable JSON on stdout instead of the table
  -h, --help         this text

Environment: TEMPORAL_ADDRESS (use that server instead of starting a dev server),
DATABASE_URL (use that database instead of creating webhooks_bench_<pid> on
BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres),
BENCH_LOG_LEVEL (bench and API log level, default warn; logs go to stderr).
`;

export class UsageError extends Error {
  override name = 'UsageError';
}

function positiveInt(flag: string, raw: string | undefined, min: number): number {
  const value = Number(raw);
  if (raw === undefined || !Number.isInteger(value) || value < min) {
    throw new UsageError(`${flag} needs an integer >= ${min} (got ${raw ?? 'nothing'})`);
  }
  return value;
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const opts: BenchOptions = {
    events: 1000,
    concurrency: 32,
    warmup: 50,
    runs: [...RUN_NAMES],
    timeoutMs: 0,
    json: false,
    help: false,
  };
  let timeoutS: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--events':
        opts.events = positiveInt(flag, value(), 1);
        break;
      case '--concurrency':
        opts.concurrency = positiveInt(flag, value(), 1);
        break;
      case '--warmup':
        opts.warmup = positiveInt(flag, value(), 0);
        break;
      case '--timeout':
        timeoutS = positiveInt(flag, value(), 1);
        break;
      case '--runs': {
        const list = (value() ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
        const bad = list.filter((s) => !RUN_NAMES.includes(s as RunName));
        if (list.length === 0 || bad.length > 0) throw new UsageError(`--runs takes a list of ${RUN_NAMES.join(',')}`);
        opts.runs = RUN_NAMES.filter((name) => list.includes(name));
        break;
      }
      case '--json':
        opts.json = true;
        break;
      case '-h':
      case '--help':
        opts.help = true;
        break;
      default:
        throw new UsageError(`unknown argument: ${arg}`);
    }
  }
  opts.timeoutMs = (timeoutS ?? 60 + Math.ceil(opts.events / 10)) * 1000;
  return opts;
}
