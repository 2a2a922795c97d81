import { ensureHousekeepingSchedule, housekeepingScheduleId } from '../../src/temporal/housekeeping-schedule';
import { createLogger } from '../../src/logger';
import { eventually, startStack, type Stack } from '../helpers/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.temporal.schedule.getHandle(housekeepingScheduleId(stack.config.TEMPORAL_TASK_QUEUE)).delete().catch(() => undefined);
  await stack?.stop();
});

describe('when the worker sets up housekeeping and the schedule runs', () => {
  it('then the schedule exists once, and a run purges expired nonces, rate windows and old telemetry only', async () => {
    const log = createLogger('silent');
    const options = { taskQueue: stack.config.TEMPORAL_TASK_QUEUE, intervalSeconds: 3600 };
    const id = await ensureHousekeepingSchedule(stack.temporal, options, log);
    await ensureHousekeepingSchedule(stack.temporal, { ...options, intervalSeconds: 1800 }, log); // a second worker start
    const handle = stack.temporal.schedule.getHandle(id);
    const described = await handle.describe();
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'housekeepingWorkflow' });
    expect(described.spec.intervals?.[0]?.every).toBe(1_800_000);

    const source = (await stack.call('POST', '/api/v1/sources', { name: 'hk', allowed_handlers: ['echo'], default_handler: 'echo', tolerance_seconds: 60 })).body.data;
    const ago = (seconds: number) => new Date(Date.now() - seconds * 1000);
    await stack.db('inbound_nonces').insert([
      { source_id: source.id, nonce: 'old-nonce-0000000000', created_at: ago(121) },
      { source_id: source.id, nonce: 'fresh-nonce-00000000', created_at: ago(30) },
    ]);
    await stack.db('inbound_rate_windows').insert([
      { source_id: source.id, window_start: ago(7200), count: 5 },
      { source_id: source.id, window_start: ago(30), count: 5 },
    ]);
    await stack.db('telemetry_events').insert([
      { tenant_id: 'default', kind: 'inbound_request', source: source.id, trace_id: 'hk-old', details: '{}', created_at: ago(31 * 86_400) },
      { tenant_id: 'default', kind: 'inbound_request', source: source.id, trace_id: 'hk-fresh', details: '{}', created_at: ago(60) },
    ]);

    await handle.trigger();
    // One run deletes nonces, then rate windows, then telemetry: wait for the last of them.
    await eventually(async () => {
      const left = await stack.db('telemetry_events').whereIn('trace_id', ['hk-old', 'hk-fresh']).pluck('trace_id');
      return left.length === 1 ? left : undefined;
    }, 30_000, 'the housekeeping run');
    expect(await stack.db('inbound_nonces').where({ source_id: source.id }).pluck('nonce')).toEqual(['fresh-nonce-00000000']);
    expect((await stack.db('inbound_rate_windows').where({ source_id: source.id })).map((r) => r.count)).toHaveLength(1);
    expect(await stack.db('telemetry_events').whereIn('trace_id', ['hk-old', 'hk-fresh']).pluck('trace_id')).toEqual(['hk-fresh']);
    const runs = (await handle.describe()).info.recentActions;
    expect(runs.length).toBeGreaterThanOrEqual(1);
  });
});
