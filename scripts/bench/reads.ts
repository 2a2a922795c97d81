/**
 * reads: do reads stay flat as data grows? Two tenants with the same endpoint set, one with a
 * single stored attempt (and audit entry), one with --attempts of each, inserted directly with
 * one `insert … select generate_series` per table; then the latency of `GET /endpoints` (which
 * reports each endpoint's success rate and the tenant's event count), of one endpoint (with its
 * delivery figures) and of the audit log's last page, for each tenant.
 *
 * The rows go into a database of the run's own, migrated only up to {@link SEED_SCHEMA} (the
 * schema the statements below are written for); then the remaining migrations run over them,
 * as they would over a production database that grew its history before an upgrade. Whatever
 * the service derives from stored attempts (running counts, say) is thus filled by its own
 * migrations, not guessed by the bench.
 */
import knexFactory from 'knex';
import { request } from 'undici';
import { migrate, type Db } from '../../src/db/knex';
import { newId } from '../../src/ids';
import { migrationSource } from '../../src/db/migrations';
import { Cleanup, createDatabase, progress, RUN_TAG } from './infra';
import type { RunContext } from './measure';
import { createTenant, startServiceStack, type ApiStack } from './service';
import { ratio, summarize, type Summary } from './stats';

/** The migration whose schema the seeding statements are written for. */
const SEED_SCHEMA = '008-endpoint-template';

/** Endpoints of each tenant. */
const ENDPOINTS = 10;
/** Entries per audit page read (the deep page is the last one). */
const AUDIT_PAGE = 100;
/** Calls before the measured ones (connection, plan cache). */
const WARM_CALLS = 3;

export interface ReadsTenant {
  label: 'small' | 'large';
  endpoints: number;
  /** Attempts stored (one per delivery, one delivery per event). */
  attempts: number;
  auditEntries: number;
  /** Deliveries `GET /endpoints` counts as finished (success + failure counts): should equal `attempts`. */
  visibleDeliveries: number;
}

export interface ReadProbe {
  read: string;
  small: Summary;
  large: Summary;
  /** large p50 / small p50: 1 is flat. */
  p50Ratio: number | null;
  p99Ratio: number | null;
}

export interface ReadsResult {
  tenants: ReadsTenant[];
  probes: ReadProbe[];
  /** Time to store the large tenant's rows (and ANALYZE), s. */
  seedS: number;
}

/**
 * One tenant's stored history: `n` events, each with one delivery to one of the endpoints
 * (round robin) and one attempt (every 20th failed), spread over the last hour (so a window of
 * recent attempts holds them all); `n` audit entries likewise.
 */
async function seed(db: Db, tenantId: string, endpointIds: string[], n: number): Promise<void> {
  await db('tenants').insert({ id: tenantId, name: tenantId });
  await db('endpoints').insert(
    endpointIds.map((id, i) => ({ id, tenant_id: tenantId, name: `reads ${i}`, url: `https://receiver.example.com/hooks/${i}`, description: 'npm run bench', events: JSON.stringify(['bench.reads']) })),
  );
  const key = `${RUN_TAG}_${tenantId.slice(-12)}`;
  const ids = "lpad(g::text, 9, '0')";
  const at = `now() - (${n} - g) * (interval '1 hour' / ${n})`;
  const endpoint = `(?::text[])[1 + g % ${endpointIds.length}]`;
  const body = JSON.stringify({ type: 'bench.reads', data: { note: 'stored by npm run bench' } });
  await db.raw(
    `insert into events (id, tenant_id, type, body, created_at, dispatched_at)
     select 'evt_bench_${key}_' || ${ids}, ?, 'bench.reads', ?, ${at}, ${at} from generate_series(1, ${n}) g`,
    [tenantId, body],
  );
  await db.raw(
    `insert into deliveries (id, tenant_id, event_id, endpoint_id, workflow_id, created_at)
     select 'dlv_bench_${key}_' || ${ids}, ?, 'evt_bench_${key}_' || ${ids}, ${endpoint}, 'bench-reads-${key}-' || ${ids}, ${at}
     from generate_series(1, ${n}) g`,
    [tenantId, endpointIds],
  );
  await db.raw(
    `insert into attempts (tenant_id, delivery_id, endpoint_id, event_id, attempt, outcome, delivery_status, started_at, duration_ms, response_status)
     select ?, 'dlv_bench_${key}_' || ${ids}, ${endpoint}, 'evt_bench_${key}_' || ${ids}, 1,
       case when g % 20 = 0 then 'failed' else 'succeeded' end, case when g % 20 = 0 then 'failed' else 'succeeded' end,
       ${at}, 20 + g % 80, case when g % 20 = 0 then 400 else 200 end
     from generate_series(1, ${n}) g`,
    [tenantId, endpointIds],
  );
  await db.raw(
    `insert into audit_log (tenant_id, actor, action, resource_type, resource_id, details, created_at)
     select ?, 'bench', 'WebhookUpdated', 'endpoint', ${endpoint}, '{}', ${at} from generate_series(1, ${n}) g`,
    [tenantId, endpointIds],
  );
}

/** Latency of `calls` sequential GETs (after a few unmeasured ones), to the body's last byte. */
async function timeGets(api: ApiStack, path: string, token: string, calls: number): Promise<Summary> {
  const times: number[] = [];
  for (let i = 0; i < WARM_CALLS + calls; i++) {
    const started = performance.now();
    const res = await request(`${api.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` }, dispatcher: api.agent });
    await res.body.text();
    const took = performance.now() - started;
    if (res.statusCode !== 200) throw new Error(`GET ${path} answered ${res.statusCode}`);
    if (i >= WARM_CALLS) times.push(took);
  }
  return summarize(times);
}

/** Migrates `db` up to and including `name`, and no further. */
async function migrateUpTo(db: Db, name: string): Promise<void> {
  for (;;) {
    const [done, pending] = (await db.migrate.list({ migrationSource })) as [Array<{ name: string } | string>, unknown[]];
    if (done.some((m) => (typeof m === 'string' ? m : m.name) === name)) return;
    if (pending.length === 0) throw new Error(`no migration ${name}: the reads run's seeding needs updating`);
    await db.migrate.up({ migrationSource });
  }
}

/**
 * The deepest audit page of 100 as a client reaches it: by `offset` where the API pages by
 * offset; by `cursor` where it answers `next_cursor` (the id the next page starts below), here
 * the cursor of the page holding the oldest entries.
 */
async function deepAuditPath(api: ApiStack, db: Db, tenantId: string, token: string): Promise<{ path: string; total: number }> {
  const res = await api.call('GET', '/api/v1/audit?limit=1', undefined, token);
  if (res.status !== 200) throw new Error(`GET /api/v1/audit answered ${res.status}`);
  const total = Number(res.body.data.total);
  if (total <= AUDIT_PAGE) return { path: `/api/v1/audit?limit=${AUDIT_PAGE}`, total };
  if (!('next_cursor' in res.body.data)) return { path: `/api/v1/audit?limit=${AUDIT_PAGE}&offset=${total - AUDIT_PAGE}`, total };
  const row = await db('audit_log').where({ tenant_id: tenantId }).orderBy('id', 'asc').offset(AUDIT_PAGE).first('id');
  return { path: `/api/v1/audit?limit=${AUDIT_PAGE}&cursor=${String(row.id)}`, total };
}

export async function runReads(ctx: RunContext): Promise<ReadsResult> {
  const scope = new Cleanup(ctx.log);
  try {
    const url = await createDatabase(`webhooks_bench_${process.pid}_reads`, scope);
    const db = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
    scope.add('close seeding pool', () => db.destroy());
    await migrateUpTo(db, SEED_SCHEMA);
    const sizes = [['small', 1], ['large', ctx.opts.attempts]] as const;
    const tenantOf = (label: string) => `bench_reads_${label}_${RUN_TAG}`;
    // Ids as the API mints them: `GET /endpoints/:id` refuses any other shape.
    const endpointIds = new Map<string, string[]>(sizes.map(([label]) => [label, Array.from({ length: ENDPOINTS }, () => newId('ep'))]));
    const endpointIdsOf = (label: string) => endpointIds.get(label)!;
    let seedS = 0;
    for (const [label, n] of sizes) {
      progress(`reads: storing ${n} attempt(s) and audit entries for the ${label} tenant`);
      const started = performance.now();
      await seed(db, tenantOf(label), endpointIdsOf(label), n);
      if (label === 'large') seedS = (performance.now() - started) / 1000;
    }
    progress(`reads: migrating the seeded database from ${SEED_SCHEMA} to the latest schema`);
    await migrate(db, 'default');
    await db.raw('analyze');

    const api = await startServiceStack(ctx, scope, ctx.temporal, 'reads', { worker: false, databaseUrl: url });
    const tenants: Array<ReadsTenant & { token: string; auditPath: string }> = [];
    for (const [label, n] of sizes) {
      const tenantId = tenantOf(label);
      const token = await createTenant(db, tenantId);
      const list = await api.call('GET', `/api/v1/endpoints?limit=${ENDPOINTS}`, undefined, token);
      if (list.status !== 200) throw new Error(`GET /api/v1/endpoints answered ${list.status}`);
      const visible = (list.body.data.items as Array<{ success_count: number; failure_count: number }>).reduce((sum, e) => sum + e.success_count + e.failure_count, 0);
      if (visible !== n) progress(`reads: WARNING the ${label} tenant's list counts ${visible} finished deliveries, ${n} were stored`);
      const audit = await deepAuditPath(api, db, tenantId, token);
      tenants.push({ label, endpoints: ENDPOINTS, attempts: n, auditEntries: audit.total, visibleDeliveries: visible, token, auditPath: audit.path });
    }
    const [small, large] = tenants as [(typeof tenants)[0], (typeof tenants)[0]];
    const calls = ctx.opts.readCalls;
    const probe = async (read: string, path: (t: (typeof tenants)[0]) => string): Promise<ReadProbe> => {
      progress(`reads: ${read}, ${calls} calls per tenant`);
      const s = await timeGets(api, path(small), small.token, calls);
      const l = await timeGets(api, path(large), large.token, calls);
      return { read, small: s, large: l, p50Ratio: ratio(l.p50, s.p50), p99Ratio: ratio(l.p99, s.p99) };
    };
    const probes = [
      await probe('GET /endpoints', () => `/api/v1/endpoints?limit=${ENDPOINTS}`),
      await probe('GET /endpoints/:id', (t) => `/api/v1/endpoints/${endpointIdsOf(t.label)[0]}`),
      await probe(`GET /audit, last page of ${AUDIT_PAGE}`, (t) => t.auditPath),
    ];
    return { tenants: tenants.map(({ token: _token, auditPath: _path, ...t }) => t), probes, seedS };
  } finally {
    await scope.run();
  }
}
