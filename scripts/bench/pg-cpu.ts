import knexFactory, { type Knex } from 'knex';
import { cpuSecondsOf } from './procs';

const POLL_MS = 250;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]', '']);

/**
 * CPU of the Postgres backends serving the bench database only: the machine's Postgres server
 * is shared with other work (test suites), so summing every `postgres` process would charge
 * their queries to the bench. Backends are found in `pg_stat_activity` every 250 ms and their
 * CPU read from `/proc`; a backend that exits between two looks loses at most its last 250 ms
 * (the pools keep theirs open during a run). Null when the server is not on this machine.
 */
export class PostgresCpu {
  private readonly db: Knex | null;
  private baseline = new Map<number, number>();
  private last = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> = Promise.resolve();

  constructor(databaseUrl: string) {
    const local = LOCAL_HOSTS.has(new URL(databaseUrl).hostname);
    this.db = local ? knexFactory({ client: 'pg', connection: databaseUrl, pool: { min: 1, max: 1 } }) : null;
  }

  private async backends(): Promise<number[]> {
    const { rows } = await this.db!.raw<{ rows: Array<{ pid: number }> }>(
      'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
    );
    return rows.map((r) => r.pid);
  }

  private async poll(): Promise<void> {
    for (const pid of await this.backends()) {
      const cpu = cpuSecondsOf(pid);
      if (cpu === null) continue;
      // A backend first seen after begin() was born during the phase: all of its CPU counts.
      if (!this.baseline.has(pid)) this.baseline.set(pid, 0);
      this.last.set(pid, cpu);
    }
  }

  /** Starts a measurement: what the backends have used so far is not counted. */
  async begin(): Promise<void> {
    if (!this.db) return;
    await this.polling;
    this.baseline = new Map();
    this.last = new Map();
    for (const pid of await this.backends()) {
      const cpu = cpuSecondsOf(pid);
      if (cpu !== null) {
        this.baseline.set(pid, cpu);
        this.last.set(pid, cpu);
      }
    }
    this.timer ??= setInterval(() => {
      this.polling = this.poll().catch(() => undefined);
    }, POLL_MS);
  }

  /** CPU seconds the bench database's backends used since `begin()`, or null when not measurable. */
  async end(): Promise<number | null> {
    if (!this.db) return null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.polling;
    await this.poll();
    let sum = 0;
    for (const [pid, cpu] of this.last) sum += Math.max(0, cpu - (this.baseline.get(pid) ?? 0));
    return sum;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.polling;
    await this.db?.destroy();
  }
}
