import { z } from 'zod';
import { getEvent, listEvents } from '../db/events-repo';
import { ValidationError } from '../errors';
import { ingestEvent } from '../services/ingest';
import type { AppDeps } from '../services/deps';
import { attemptHubFor } from '../services/attempt-stream';
import { CURSOR_KEY_PURPOSE, searchDeliveries } from '../temporal/delivery-search';
import { caller } from './auth';
import { secondsSinceReceived } from './http-metrics';
import { resumePoint, streamAttempts } from './event-stream';
import { RouteTable } from './route-table';
import { eventIn, eventListQuery, eventStreamQuery, IDEMPOTENCY_KEY, resourceId } from './schemas';

const params = z.object({ id: resourceId('evt') }).strict();

/** The most deliveries one event shows with their status (one visibility page). */
const EVENT_DELIVERIES_SHOWN = 200;

/** `/api/v1/events`: ingest (202 once the deliveries are durably started), and reading events back. */
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
        if (!IDEMPOTENCY_KEY.test(headerKey)) {
          throw new ValidationError('Idempotency-Key must be 1 to 255 characters, none of them a control character', [
            { path: 'headers.idempotency-key', message: 'must be 1 to 255 characters, none of them a control character' },
          ]);
        }
        body.idempotency_key = headerKey;
      }
      const admitted = secondsSinceReceived(res);
      if (admitted !== null) deps.metrics.observeIngestPart('admit', admitted);
      const out = await ingestEvent(deps, caller(res).tenantId, body);
      if (out.duplicate) res.setHeader('Idempotent-Replayed', 'true');
      return { event_id: out.event_id, deliveries: out.deliveries };
    },
  );

  table.add({ method: 'get', path: '/', summary: 'List events, newest first', scope: 'deliveries:read', query: eventListQuery }, async ({ query, res }) => {
    const { items, total } = await listEvents(deps.db, caller(res).tenantId, {
      type: query.type,
      since: query.since ? new Date(query.since) : undefined,
      until: query.until ? new Date(query.until) : undefined,
      limit: query.limit,
      offset: query.offset,
    });
    return { items, total, limit: query.limit, offset: query.offset };
  });

  // Before `/:id`, which would take `stream` for an event id and answer 422.
  table.add(
    { method: 'get', path: '/stream', summary: 'Live delivery attempts as Server-Sent Events; Last-Event-ID or since_id replays after an id', scope: 'deliveries:read', query: eventStreamQuery, raw: true, produces: 'text/event-stream' },
    async ({ query, req, res }) => {
      const resumeFrom = resumePoint(req.get('last-event-id'), query.since_id);
      const filter = { endpointId: query.endpoint_id, eventType: query.event_type, deliveryStatus: query.status };
      await streamAttempts(deps.db, attemptHubFor(deps.db, deps.log), { tenantId: caller(res).tenantId, filter, resumeFrom }, req, res);
    },
  );

  table.add({ method: 'get', path: '/:id', summary: 'One event: the body sent to receivers and its deliveries with their status', scope: 'deliveries:read', params }, async ({ params, res }) => {
    const tenantId = caller(res).tenantId;
    const { body, deliveries, ...event } = await getEvent(deps.db, tenantId, params.id);
    const found = deliveries.length === 0
      ? []
      : (await searchDeliveries(deps.temporal, { tenantId, eventId: event.id, limit: EVENT_DELIVERIES_SHOWN }, deps.box.deriveKey(CURSOR_KEY_PURPOSE))).items;
    // Newest run first: a redelivered delivery shows its latest run.
    const byWorkflow = new Map<string, (typeof found)[number]>();
    for (const d of found) if (!byWorkflow.has(d.workflow_id)) byWorkflow.set(d.workflow_id, d);
    return {
      ...event,
      body: JSON.parse(body) as unknown,
      deliveries: deliveries.map((d) => {
        const seen = byWorkflow.get(d.workflow_id);
        // Visibility lags a moment behind a start; until then the delivery is scheduled.
        return { id: d.id, endpoint_id: d.endpoint_id, workflow_id: d.workflow_id, created_at: d.created_at, status: seen?.status ?? 'scheduled', closed_at: seen?.closed_at ?? null };
      }),
    };
  });
  return table;
}
