import { ValidationError } from '../errors';
import { ingestEvent } from '../services/ingest';
import type { AppDeps } from '../services/deps';
import { caller } from './auth';
import { RouteTable } from './route-table';
import { eventIn } from './schemas';

/** `/api/v1/events`: ingest. Answers 202 once the deliveries are durably started. */
export function eventsRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/events', 'events');
  table.add(
    { method: 'post', path: '/', summary: 'Send an event to every subscribed endpoint', scope: 'events:write', body: eventIn, status: 202 },
    async ({ body, req, res }) => {
      const headerKey = req.get('idempotency-key');
      if (headerKey !== undefined) {
        if (body.idempotency_key !== undefined && body.idempotency_key !== headerKey) {
          throw new ValidationError('Idempotency-Key header and body idempotency_key differ', [
            { path: 'headers.idempotency-key', message: 'differs from body.idempotency_key' },
          ]);
        }
        if (headerKey.length < 1 || headerKey.length > 255) {
          throw new ValidationError('Idempotency-Key must be 1 to 255 characters', [
            { path: 'headers.idempotency-key', message: 'must be 1 to 255 characters' },
          ]);
        }
        body.idempotency_key = headerKey;
      }
      const out = await ingestEvent(deps, caller(res).tenantId, body);
      if (out.duplicate) res.setHeader('Idempotent-Replayed', 'true');
      return { event_id: out.event_id, deliveries: out.deliveries };
    },
  );
  return table;
}
