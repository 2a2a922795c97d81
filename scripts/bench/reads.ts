/**
 * reads: do reads stay flat as data grows? Two tenants with the same endpoint set, one with a
 * single stored attempt (and audit entry), one with --attempts of each, inserted directly with
 * one `insert … select generate_series` per table; then the latency of `GET /endpoints` (which
 * reports each endpoint's success rate) and of the audit log's last page, for each tenant.
 */
import { request } from 'undici';
import type { Db } from '../../src/db/knex';
import { Cleanup, progress, RUN_TAG } from './infra';
import type { RunContext } from './measure';
import { createEndpoint, createTenant, startServiceStack, type ApiStack } from './service';
import { ratio, summarize, type Summary } from './stats';

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

async function auditTotal(api: ApiStack, token: string): Promise<number> {
  const res = await api.call('GET', '/api/v1/audit?limit=1', undefined, token);
  if (res.status !== 200) throw new Error(`GET /api/v1/audit answered ${res.status}`);
  return Number(res.body.data.total);
}

export async function runReads(ctx: RunContext): Promise<ReadsResult> {
  const scope = new Cleanup(ctx.log);
  try {
    const api = await startServiceStack(ctx, scope, ctx.temporal, 'reads', { worker: false });
    const tenants: Array<ReadsTenant & { token: string }> = [];
    let seedS = 0;
    for (const [label, n] of [['small', 1], ['large', ctx.opts.attempts]] as const) {
      const tenantId = `bench_reads_${label}_${RUN_TAG}`;
      const token = await createTenant(api.db, tenantId);
      const endpointIds: string[] = [];
      for (let i = 0; i < ENDPOINTS; i++) {
        endpointIds.push(await createEndpoint(api, { url: `${ctx.receiver.url}/hooks/reads/${i}`, events: ['bench.reads'] }, token));
      }
      progress(`reads: storing ${n} attempt(s) and audit entries for the ${label} tenant`);
      const started = performance.now();
      await seed(api.db, tenantId, endpointIds, n);
      await api.db.raw('analyze events, deliveries, attempts, audit_log');
      if (label === 'large') seedS = (performance.now() - started) / 1000;
      const list = await api.call('GET', `/api/v1/endpoints?limit=${ENDPOINTS}`, undefined, token);
      const visible = (list.body.data.items as Array<{ success_count: number; failure_count: number }>).reduce((sum, e) => sum + e.success_count + e.failure_count, 0);
      tenants.push({ label, endpoints: ENDPOINTS, attempts: n, auditEntries: await auditTotal(api, token), visibleDeliveries: visible, token });
      if (visible !== n) progress(`reads: WARNING the ${label} tenant's list counts ${visible} finished deliveries, ${n} were stored`);
    }
    const [small, large] = tenants as [ReadsTenant & { token: string }, ReadsTenant & { token: string }];
    const calls = ctx.opts.readCalls;
    const probe = async (read: string, path: (t: ReadsTenant) => string): Promise<ReadProbe> => {
      progress(`reads: ${read}, ${calls} calls per tenant`);
      const s = await timeGets(api, path(small), small.token, calls);
      const l = await timeGets(api, path(large), large.token, calls);
      return { read, small: s, large: l, p50Ratio: ratio(l.p50, s.p50), p99Ratio: ratio(l.p99, s.p99) };
    };
    const probes = [
      await probe('GET /endpoints', () => `/api/v1/endpoints?limit=${ENDPOINTS}`),
      await probe(`GET /audit, last page of ${AUDIT_PAGE}`, (t) => `/api/v1/audit?limit=${AUDIT_PAGE}&offset=${Math.max(0, t.auditEntries - AUDIT_PAGE)}`),
    ];
    return { tenants: tenants.map(({ token: _token, ...t }) => t), probes, seedS };
  } finally {
    await scope.run();
  }
}
