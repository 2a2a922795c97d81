import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: false });
});
afterAll(async () => stack?.stop());

describe('when domain events happen', () => {
  it('then the audit log lists them with actor, time and trace id, filtered', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/a', events: ['audit.x'] }, { headers: { 'x-request-id': 'trace-audit-1' } });
    const id = created.body.data.id;
    await stack.call('PATCH', `/api/v1/endpoints/${id}`, { description: 'changed' });
    await stack.call('POST', '/api/v1/api-keys', { name: 'audited', role: 'viewer' });

    const all = await stack.call('GET', `/api/v1/audit?resource_id=${id}`);
    expect(all.body.data.total).toBe(2);
    expect(all.body.data.items.map((e: { action: string }) => e.action)).toEqual(['WebhookUpdated', 'WebhookCreated']);
    expect(all.body.data.items[1]).toMatchObject({ actor: 'bootstrap-token', resource_type: 'endpoint', trace_id: 'trace-audit-1', created_at: expect.any(String) });

    const keys = await stack.call('GET', '/api/v1/audit?action=ApiKeyCreated');
    expect(keys.body.data.items.every((e: { action: string }) => e.action === 'ApiKeyCreated')).toBe(true);
    expect((await stack.call('GET', `/api/v1/audit?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body.data.total).toBe(0);
  });

  it('then format=csv exports them as a CSV download', async () => {
    await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/b', events: ['audit.y'] });
    const res = await fetch(`${stack.url}/api/v1/audit?format=csv&action=WebhookCreated`, { headers: { authorization: 'Bearer test-token-0123456789' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toContain('audit.csv');
    const lines = (await res.text()).trim().split('\r\n');
    expect(lines[0]).toBe('id,created_at,actor,action,resource_type,resource_id,trace_id,details');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines[1]).toContain(',bootstrap-token,WebhookCreated,endpoint,ep_');
  });

  it('then next_cursor pages through every entry once, newest first, without a total', async () => {
    const created = await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/paged', events: ['audit.paged'] });
    const id = created.body.data.id;
    for (let i = 0; i < 4; i++) await stack.call('PATCH', `/api/v1/endpoints/${id}`, { description: `change ${i}` });
    const first = (await stack.call('GET', `/api/v1/audit?resource_id=${id}&limit=2`)).body.data;
    expect(first).toMatchObject({ total: 5, offset: 0, next_cursor: expect.stringMatching(/^\d+$/) });
    const seen: number[] = first.items.map((e: { id: number }) => e.id);
    let cursor: string | null = first.next_cursor;
    while (cursor) {
      const page = (await stack.call('GET', `/api/v1/audit?resource_id=${id}&limit=2&cursor=${cursor}`)).body.data;
      expect(page).toMatchObject({ total: null, offset: null });
      seen.push(...page.items.map((e: { id: number }) => e.id));
      cursor = page.next_cursor;
    }
    expect(seen).toHaveLength(5);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
  });

  it('then bad filters get 422', async () => {
    for (const q of ['format=xml', 'since=yesterday', 'limit=0', 'action=Drop;Table', 'offset=10001', 'cursor=abc', 'cursor=5&offset=0']) {
      expect((await stack.call('GET', `/api/v1/audit?${q}`)).status).toBe(422);
    }
  });
});
