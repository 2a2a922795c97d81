import type { Caller } from '../domain/caller';
import type { EndpointIn, EndpointPatch } from '../api/schemas';
import { auditedBy, recordAudit } from '../db/audit-repo';
import {
  getEndpoint,
  insertEndpoint,
  softDeleteEndpoint,
  updateEndpoint,
  type EndpointRecord,
  type EndpointWrite,
} from '../db/endpoints-repo';
import { insertActiveKey } from '../db/signing-keys-repo';
import { ValidationError } from '../errors';
import { newId } from '../ids';
import { stopKeySchedule } from '../temporal/schedules';
import { egressPolicy, refusedUrl } from '../security/egress';
import { publicHeaders, sealHeaders } from '../security/endpoint-headers';
import { generateSecret } from '../security/signing';
import type { AppDeps } from './deps';

/** Public view of an endpoint: never its secret, never a sensitive header value. */
export function endpointOut(endpoint: EndpointRecord) {
  return {
    id: endpoint.id,
    name: endpoint.name,
    url: endpoint.url,
    description: endpoint.description,
    events: endpoint.events,
    headers: publicHeaders(endpoint.headers ?? {}),
    filters: endpoint.filters,
    retry_config: endpoint.retry_config,
    scheme: endpoint.scheme,
    rate_limit: endpoint.rate_limit,
    template: endpoint.template,
    ordering: endpoint.ordering,
    on_exhausted: endpoint.on_exhausted,
    // A FIFO line: the last sequence number given, and the delivery it waits on (on_exhausted = block).
    fifo: endpoint.ordering === 'fifo' || Number(endpoint.fifo_last_sequence) > 0
      ? { last_sequence: Number(endpoint.fifo_last_sequence), blocked_on: endpoint.fifo_blocked_delivery_id }
      : null,
    is_active: endpoint.is_active,
    created_at: endpoint.created_at,
    updated_at: endpoint.updated_at,
    last_triggered: endpoint.last_triggered_at,
    failing_since: endpoint.failing_since,
    disabled_reason: endpoint.disabled_reason,
  };
}

const audit = (caller: Caller) => ({ ...auditedBy(caller), resourceType: 'endpoint' });

/** Refuses on save a URL the egress policy already refuses without resolving it (422 on `url`). */
function checkUrlAllowed(config: AppDeps['config'], url: string): void {
  const reason = refusedUrl(egressPolicy(config), url);
  if (reason) throw new ValidationError(`invalid body: url: ${reason}`, [{ path: 'body.url', message: reason }]);
}

/** Creates an endpoint with its first signing key; the secret is returned here and only here. */
export async function createEndpoint(
  { db, box, config }: Pick<AppDeps, 'db' | 'box' | 'config'>,
  caller: Caller,
  input: EndpointIn,
): Promise<{ endpoint: EndpointRecord; secret: string; keyId: string }> {
  checkUrlAllowed(config, input.url);
  const secret = input.secret ?? generateSecret();
  const id = newId('ep');
  return db.transaction(async (trx) => {
    const endpoint = await insertEndpoint(trx, caller.tenantId, {
      id,
      name: input.name ?? null,
      url: input.url,
      description: input.description ?? null,
      events: input.events,
      headers: sealHeaders(box, id, input.headers ?? {}),
      filters: input.filters ?? null,
      retry_config: input.retry_config ?? null,
      scheme: input.scheme ?? 'x-signature',
      rate_limit: input.rate_limit ?? null,
      template: input.template ?? null,
      ordering: input.ordering ?? 'unordered',
      on_exhausted: input.on_exhausted ?? 'skip',
      is_active: input.is_active ?? true,
    });
    const keyId = await insertActiveKey(trx, box, caller.tenantId, { type: 'endpoint', id }, newId('key'), secret);
    await recordAudit(trx, { ...audit(caller), action: 'WebhookCreated', resourceId: id, details: { url: input.url, events: input.events } });
    return { endpoint, secret, keyId };
  });
}

/**
 * PUT replaces every field (absent optional fields are cleared); PATCH changes only the given
 * ones (`null` clears). The secret is never part of an update: it is rotated.
 */
export async function changeEndpoint(
  { db, box, config }: Pick<AppDeps, 'db' | 'box' | 'config'>,
  caller: Caller,
  id: string,
  input: EndpointPatch,
  mode: 'replace' | 'patch',
): Promise<EndpointRecord> {
  if (input.url) checkUrlAllowed(config, input.url);
  return db.transaction(async (trx) => {
    const current = await getEndpoint(trx, caller.tenantId, id);
    const fields: EndpointWrite =
      mode === 'replace'
        ? {
            name: input.name ?? null,
            description: input.description ?? null,
            headers: {},
            filters: input.filters ?? null,
            retry_config: input.retry_config ?? null,
            scheme: input.scheme ?? 'x-signature',
            rate_limit: input.rate_limit ?? null,
            template: input.template ?? null,
            ordering: input.ordering ?? 'unordered',
            on_exhausted: input.on_exhausted ?? 'skip',
            is_active: input.is_active ?? true,
          }
        : {};
    for (const key of ['name', 'url', 'events', 'description', 'filters', 'retry_config', 'scheme', 'rate_limit', 'template', 'ordering', 'on_exhausted', 'is_active'] as const) {
      if (input[key] !== undefined) (fields as Record<string, unknown>)[key] = input[key];
    }
    if (input.headers !== undefined) fields.headers = sealHeaders(box, id, input.headers, current.headers);
    // A new limit starts from now, not from slots reserved under the old one.
    if (fields.rate_limit !== undefined && fields.rate_limit !== current.rate_limit) fields.rate_next_slot_at = null;
    // Switched on (or off) by hand: the service's reason and the failure streak no longer apply.
    if (fields.is_active !== undefined && fields.is_active !== current.is_active) {
      fields.disabled_reason = null;
      if (fields.is_active) fields.failing_since = null;
    }
    const updated = await updateEndpoint(trx, caller.tenantId, id, fields);
    await recordAudit(trx, { ...audit(caller), action: 'WebhookUpdated', resourceId: id, details: { fields: Object.keys(input) } });
    return updated;
  });
}

/**
 * Soft delete; deliveries in flight stop at their next attempt (`endpoint_deleted`), and the
 * endpoint's auto-rotation schedule, if any, is deleted.
 */
export async function deleteEndpoint({ db, temporal, log }: Pick<AppDeps, 'db' | 'temporal' | 'log'>, caller: Caller, id: string): Promise<void> {
  await db.transaction(async (trx) => {
    await softDeleteEndpoint(trx, caller.tenantId, id);
    await recordAudit(trx, { ...audit(caller), action: 'WebhookDeleted', resourceId: id });
  });
  await stopKeySchedule(temporal, caller.tenantId, { type: 'endpoint', id }, 'delete').catch((err) =>
    log.warn({ err, endpointId: id }, 'could not delete the key rotation schedule of a deleted endpoint'),
  );
}
