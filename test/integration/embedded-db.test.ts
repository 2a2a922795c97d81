import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { insertEndpoint, listSubscribedEndpoints } from '../../src/db/endpoints-repo';
import { storeAttempt } from '../../src/db/attempts-repo';
import { deliveryStats, endpointSummary, successCounts } from '../../src/db/endpoint-stats-repo';
import { rangeStats } from '../../src/db/endpoint-range-stats-repo';
import { insertEventWithDeliveries, listEvents } from '../../src/db/events-repo';
import { newDeliveries } from '../../src/services/ingest';
import { migrate, openDatabase } from '../../src/db/knex';
import { insertActiveKey, loadValidKeys } from '../../src/db/signing-keys-repo';
import { newId } from '../../src/ids';
import { createLogger } from '../../src/logger';
import { SecretBox } from '../../src/security/secret-box';
import { generateSecret } from '../../src/security/signing';

describe('when DATABASE_URL is unset', () => {
  it('then the embedded Postgres (PGlite) runs the same migrations and queries', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pglite-'));
    const config = loadConfig({ NODE_ENV: 'test', PGLITE_DIR: dir, LOG_LEVEL: 'silent' });
    const db = openDatabase(config, createLogger('silent'));
    try {
      await migrate(db, 'default');
      await migrate(db, 'default'); // a second start is a no-op
      const box = new SecretBox(Buffer.alloc(32, 3));
      const endpoint = await insertEndpoint(db, 'default', {
        id: newId('ep'),
        url: 'https://example.com/x',
        description: null,
        events: ['a.b', 'c.d'],
        retry_config: { max_retries: 1 },
      });
      const secret = generateSecret();
      await insertActiveKey(db, box, 'default', { type: 'endpoint', id: endpoint.id }, newId('key'), secret);
      expect(await loadValidKeys(db, box, { type: 'endpoint', id: endpoint.id })).toEqual([{ id: expect.any(String), secret }]);
      expect((await listSubscribedEndpoints(db, 'default', 'c.d')).map((e) => e.id)).toEqual([endpoint.id]);
      expect(await listSubscribedEndpoints(db, 'default', 'x.y')).toEqual([]);
      const [eventId, secondId] = [newId('evt'), newId('evt')];
      const stored = await insertEventWithDeliveries(db, 'default', { id: eventId, type: 'a.b', body: '{}', idempotencyKey: 'k' }, newDeliveries(eventId, [endpoint.id]));
      const again = await insertEventWithDeliveries(db, 'default', { id: secondId, type: 'a.b', body: '{}', idempotencyKey: 'k' }, newDeliveries(secondId, [endpoint.id]));
      expect(again.event.id).toBe(stored.event.id);
      expect(again.created).toBe(false);
      // Stats read each delivery's latest attempt (DISTINCT ON), the same on PGlite as on Postgres.
      const attempt = { tenant_id: 'default', delivery_id: stored.deliveries[0]!.id, endpoint_id: endpoint.id, event_id: stored.event.id, started_at: new Date(), duration_ms: 5, error_class: null, error_message: null, response_excerpt: null };
      const effects = { reachedReceiver: true, keyIds: [] };
      await storeAttempt(db, { ...attempt, attempt: 1, outcome: 'retryable', response_status: 500, delivery_status: 'failed' }, effects);
      await storeAttempt(db, { ...attempt, attempt: 2, outcome: 'succeeded', response_status: 200, delivery_status: 'succeeded' }, effects);
      expect(await deliveryStats(db, 'default', endpoint.id)).toMatchObject({ total_deliveries: 1, successful_deliveries: 1, failed_deliveries: 0, total_attempts: 2 });
      expect(await successCounts(db, 'default', [endpoint.id])).toEqual(new Map([[endpoint.id, { ok: 1, failed: 0 }]]));
      expect(await endpointSummary(db, 'default')).toMatchObject({ total_events: 1, avg_success_rate: 100 });
      const stats = await rangeStats(db, 'default', endpoint.id, { groupBy: 'hour', since: new Date(Date.now() - 3_600_000), until: new Date(Date.now() + 60_000) });
      expect(stats).toMatchObject({ by_event_type: [{ event_type: 'a.b', deliveries: 1, succeeded: 1 }], errors: [{ response_status: 500, count: 1 }], totals: { attempts: 2, p95_response_time_ms: 5 } });
      expect(stats.series.reduce((n, b) => n + b.attempts, 0)).toBe(2); // generate_series + date_trunc buckets
      expect(await listEvents(db, 'default', { limit: 10, offset: 0 })).toMatchObject({ total: 1, items: [{ id: stored.event.id, delivery_count: 1 }] });
    } finally {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000); // migrating an embedded (WebAssembly) Postgres is slow on a busy machine
});
