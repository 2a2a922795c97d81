import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureNamespaceRetention } from '../../src/temporal/namespace-retention';
import { createLogger } from '../../src/logger';
import { seedDeliveries } from '../helpers/seed-deliveries';
import { startStack, type Stack } from '../helpers/stack';

/** Retention: each tenant's deliveries, attempts and events older than its retention_days go. */
const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const PLATFORM_TOKEN = 'platform-token-retention-0123456789';
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { DEFAULT_TENANT_ID: `ret-${randomBytes(4).toString('hex')}`, PLATFORM_API_TOKEN: PLATFORM_TOKEN } });
});
afterAll(async () => stack?.stop());

const days = (n: number) => new Date(Date.now() - n * 86_400_000);
const tenant = () => stack.config.DEFAULT_TENANT_ID;
async function endpoint() {
  const res = await stack.call('POST', '/api/v1/endpoints', { url: 'http://127.0.0.1:9/never', events: ['recovery.test'] });
  expect(res.status).toBe(201);
  return res.body.data.id as string;
}
const count = async (table: string, where: Record<string, unknown>) => Number((await stack.db(table).where(where).count<{ n: string }[]>({ n: '*' }))[0]!.n);

describe('when a tenant sets retention_days', () => {
  it('then the settings and the tenant carry it, 30 by default, within bounds', async () => {
    expect((await stack.call('GET', '/api/v1/settings')).body.data).toMatchObject({ retention_days: 30 });
    const set = await stack.call('PATCH', '/api/v1/settings', { retention_days: 7 });
    expect(set.status).toBe(200);
    expect(set.body.data).toMatchObject({ retention_days: 7, allow_untyped_events: true });
    expect((await stack.call('PATCH', '/api/v1/settings', { retention_days: 0 })).status).toBe(422);
    expect((await stack.call('PATCH', '/api/v1/settings', { retention_days: 1.5 })).status).toBe(422);
    const created = await stack.call('POST', '/api/v1/tenants', { id: `ret2-${randomBytes(4).toString('hex')}`, name: 'R', settings: { retention_days: 90 } }, { token: PLATFORM_TOKEN });
    expect(created.status).toBe(201);
    expect(created.body.data.settings).toMatchObject({ retention_days: 90 });
    const shown = await stack.call('GET', `/api/v1/tenants/${tenant()}`, undefined, { token: PLATFORM_TOKEN });
    expect(shown.body.data.settings).toMatchObject({ retention_days: 7 });
  });
});

describe('when the housekeeping run purges past retention', () => {
  it('then old deliveries, attempts and events go in batches, recent and still-active ones stay, and a purged one answers 410', async () => {
    await stack.call('PATCH', '/api/v1/settings', { retention_days: 7 });
    // A tenant two months old: data ten days old can be its own (an id older than the tenant is not).
    await stack.db('tenants').where({ id: tenant() }).update({ created_at: days(60) });
    const endpointId = await endpoint();
    const seed = (n: number, createdAt: Date, attemptAt?: Date) => seedDeliveries(stack.db, { tenantId: tenant(), endpointId, count: n, ending: 'failed', createdAt, ...(attemptAt ? { attemptAt } : {}) });
    const old = await seed(1200, days(10));
    const recent = await seed(10, days(3));
    const stillWorking = await seed(5, days(10), days(1));

    const out = await stack.temporal.workflow.execute('housekeepingWorkflow', { taskQueue: stack.config.TEMPORAL_TASK_QUEUE, workflowId: `hk-retention-${randomBytes(4).toString('hex')}`, args: [] });
    expect((out as { retention: Record<string, number> }).retention).toMatchObject({ deliveries: expect.any(Number), events: expect.any(Number) });
    expect((out as { retention: { deliveries: number } }).retention.deliveries).toBeGreaterThanOrEqual(1200);

    expect(await count('deliveries', { endpoint_id: endpointId })).toBe(15);
    expect(await count('attempts', { endpoint_id: endpointId })).toBe(15);
    expect(await stack.db('events').whereIn('id', old.map((d) => d.eventId)).count<{ n: string }[]>({ n: '*' })).toEqual([{ n: '0' }]);
    expect(await stack.db('events').whereIn('id', [...recent, ...stillWorking].map((d) => d.eventId)).count<{ n: string }[]>({ n: '*' })).toEqual([{ n: '15' }]);
    // The running counts the API reads followed the purge.
    const shown = await stack.call('GET', `/api/v1/endpoints/${endpointId}`);
    expect(shown.body.data.delivery_stats.total_deliveries).toBe(15);
    const list = await stack.call('GET', '/api/v1/endpoints');
    expect(list.body.data.summary.total_events).toBe(await count('events', { tenant_id: tenant() }));

    const purged = await stack.call('GET', `/api/v1/deliveries/${old[0]!.deliveryId}`);
    expect(purged.status).toBe(410);
    expect(purged.body).toMatchObject({ ok: false, err: 'delivery_purged' });
    expect((await stack.call('POST', `/api/v1/deliveries/${old[0]!.deliveryId}/redeliver`)).status).toBe(410);
    const event = await stack.call('GET', `/api/v1/events/${old[0]!.eventId}`);
    expect(event).toMatchObject({ status: 410, body: { err: 'event_purged' } });
    // An id newer than the purge that does not exist is simply not found, and so is one minted
    // before the tenant existed (it was never the tenant's).
    expect((await stack.call('GET', `/api/v1/deliveries/dlv_${'7'.repeat(26)}`)).status).toBe(404);
    expect((await stack.call('GET', `/api/v1/deliveries/dlv_01aaaaaaaaaaaaaaaaaaaaaaaa`)).status).toBe(404);
    expect((await stack.call('GET', `/api/v1/deliveries/${recent[0]!.deliveryId}`)).status).toBe(200);
  }, 180_000);
});

describe('when the namespace retention is set where the project creates the namespace', () => {
  it('then the namespace keeps closed workflows that many days', async () => {
    await ensureNamespaceRetention(stack.temporal.connection, stack.config.TEMPORAL_NAMESPACE, 30, createLogger('silent'));
    const described = await stack.temporal.workflowService.describeNamespace({ namespace: stack.config.TEMPORAL_NAMESPACE });
    expect(Number(described.config?.workflowExecutionRetentionTtl?.seconds)).toBe(30 * 86_400);
  });
});

describe('when an operator prunes with the CLI', () => {
  const cli = (args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, NODE_ENV: 'test', DATABASE_URL: stack.config.DATABASE_URL, LOG_LEVEL: 'silent', MASTER_KEY: 'ab'.repeat(32) },
    });

  it('then everything of the tenant before the date goes, and nothing of another tenant', async () => {
    const endpointId = await endpoint();
    const other = `ret3-${randomBytes(4).toString('hex')}`;
    await stack.db('tenants').insert({ id: other, name: other, created_at: days(60) });
    const otherEndpoint = `ep_${randomBytes(13).toString('hex')}`;
    await stack.db('endpoints').insert({ id: otherEndpoint, tenant_id: other, url: 'http://127.0.0.1:9/x', events: JSON.stringify(['*']) });
    const mine = await seedDeliveries(stack.db, { tenantId: tenant(), endpointId, count: 30, ending: 'succeeded', createdAt: days(2) });
    await seedDeliveries(stack.db, { tenantId: other, endpointId: otherEndpoint, count: 4, ending: 'succeeded', createdAt: days(2) });

    const { stdout } = await cli(['prune', '--before', days(1).toISOString(), '--tenant', tenant(), '--batch', '7']);
    // Its 30, and the 15 the housekeeping test above kept (younger than 7 days, older than 1).
    expect(stdout).toContain('45 deliveries, 45 attempts, 45 events');
    expect(await count('deliveries', { endpoint_id: endpointId })).toBe(0);
    expect(await count('deliveries', { endpoint_id: otherEndpoint })).toBe(4);
    expect((await stack.call('GET', `/api/v1/deliveries/${mine[0]!.deliveryId}`)).status).toBe(410);

    await expect(cli(['prune'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--before') });
    await expect(cli(['prune', '--before', 'soon'])).rejects.toMatchObject({ code: 2 });
  }, 120_000);
});
