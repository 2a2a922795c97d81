import { Router } from 'express';
import { ValidationError } from '../errors';
import { ingestEvent } from '../services/ingest';
import type { AppDeps } from '../services/deps';
import { caller, requireScope } from './auth';
import { ok, validate } from './middleware';
import { eventIn } from './schemas';

/** `/api/v1/events`: ingest. Answers 202 once the deliveries are durably started. */
export function eventsRouter(deps: AppDeps): Router {
  const router = Router();
  router.post('/', requireScope('events:write'), async (req, res) => {
    const input = validate(eventIn, req.body, 'body');
    const headerKey = req.get('idempotency-key');
    if (headerKey !== undefined) {
      if (input.idempotency_key !== undefined && input.idempotency_key !== headerKey) {
        throw new ValidationError('Idempotency-Key header and body idempotency_key differ', [
          { path: 'headers.idempotency-key', message: 'differs from body.idempotency_key' },
        ]);
      }
      if (headerKey.length < 1 || headerKey.length > 255) {
        throw new ValidationError('Idempotency-Key must be 1 to 255 characters', [
          { path: 'headers.idempotency-key', message: 'must be 1 to 255 characters' },
        ]);
      }
      input.idempotency_key = headerKey;
    }
    const out = await ingestEvent(deps, caller(res).tenantId, input);
    if (out.duplicate) res.setHeader('Idempotent-Replayed', 'true');
    ok(res, { event_id: out.event_id, deliveries: out.deliveries }, 202);
  });
  return router;
}
