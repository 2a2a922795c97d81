import type { Caller } from '../domain/caller';
import { isOperationalEventType, OPERATIONAL_CATEGORY, OPERATIONAL_EVENT_TYPES } from '../domain/operational-events';
import { auditedBy, recordAudit, type AuditAction } from '../db/audit-repo';
import {
  insertEventType,
  softDeleteEventType,
  updateEventType,
  type EventTypeRecord,
  type EventTypeWrite,
} from '../db/event-types-repo';
import { AppError } from '../errors';
import { newId } from '../ids';
import type { AppDeps } from './deps';
import { compilePayloadSchema, storedPayloadSchema } from './payload-schemas';

/**
 * Ingest check: a typed event's payload must match its schema (422 listing every error's path);
 * an untyped event is accepted only when the tenant allows it.
 */
export function checkEventPayload(tenantId: string, type: string, payload: unknown, found: { eventType: EventTypeRecord | null; allowUntyped: boolean }): EventTypeRecord | null {
  const { eventType, allowUntyped } = found;
  if (!eventType) {
    if (!allowUntyped) {
      throw new AppError(422, 'unknown_event_type', `event type ${type} is not in the catalog and this tenant does not accept untyped events`);
    }
    return null;
  }
  if (eventType.payload_schema) storedPayloadSchema(tenantId, eventType).check(payload, 'body.payload', `payload does not match the schema of ${type}`);
  return eventType;
}

/** An event type as given: its payload schema and example are checked before anything is stored. */
export type EventTypeIn = Omit<Partial<EventTypeWrite>, 'name'> & { name: string };

/** The service's own types are built in: no tenant defines, replaces or removes them (422). */
function refuseReserved(name: string): void {
  if (isOperationalEventType(name)) throw new AppError(422, 'reserved_event_type', `${name} is a built-in operational event type and cannot be changed`);
}

/**
 * The built-in operational event types as catalog records of the tenant (category
 * `operational`), or the one named `name`.
 */
export function operationalEventTypes(tenantId: string, name?: string): EventTypeRecord[] {
  const epoch = new Date(0);
  return Object.entries(OPERATIONAL_EVENT_TYPES)
    .filter(([n]) => name === undefined || n === name)
    .map(([n, t]) => ({
      id: `et_operational_${n.replace(/\W/g, '_')}`,
      tenant_id: tenantId,
      name: n,
      description: t.description,
      category: OPERATIONAL_CATEGORY,
      version: '1',
      deprecated: false,
      payload_schema: t.schema as Record<string, unknown>,
      example_payload: t.example,
      created_at: epoch,
      updated_at: epoch,
    }));
}

/** Validates the schema (and the example against it), then fills in the defaults. */
function toWrite(input: EventTypeIn): EventTypeWrite {
  refuseReserved(input.name);
  if (input.payload_schema) {
    const schema = compilePayloadSchema(input.payload_schema, 'body.payload_schema');
    if (input.example_payload !== undefined) schema.check(input.example_payload, 'body.example_payload');
  }
  return {
    name: input.name,
    description: input.description ?? null,
    category: input.category ?? null,
    version: input.version ?? null,
    deprecated: input.deprecated ?? false,
    payload_schema: input.payload_schema ?? null,
    example_payload: input.example_payload ?? null,
  };
}

const audit = (caller: Caller, action: AuditAction, name: string) => ({ ...auditedBy(caller), action, resourceType: 'event_type', resourceId: name });

/** Adds an event type to the tenant's catalog. */
export async function createEventType({ db }: Pick<AppDeps, 'db'>, caller: Caller, input: EventTypeIn): Promise<EventTypeRecord> {
  const write = toWrite(input);
  return db.transaction(async (trx) => {
    const created = await insertEventType(trx, caller.tenantId, newId('et'), write);
    await recordAudit(trx, audit(caller, 'EventTypeCreated', input.name));
    return created;
  });
}

/** Replaces an event type of the catalog (every field; absent optional ones are cleared). */
export async function replaceEventType({ db }: Pick<AppDeps, 'db'>, caller: Caller, name: string, input: EventTypeIn): Promise<EventTypeRecord> {
  refuseReserved(name);
  const write = toWrite(input);
  return db.transaction(async (trx) => {
    const updated = await updateEventType(trx, caller.tenantId, name, write);
    await recordAudit(trx, audit(caller, 'EventTypeUpdated', name));
    return updated;
  });
}

/** Removes an event type from the catalog; its events already sent keep their history. */
export async function deleteEventType({ db }: Pick<AppDeps, 'db'>, caller: Caller, name: string): Promise<void> {
  refuseReserved(name);
  await db.transaction(async (trx) => {
    await softDeleteEventType(trx, caller.tenantId, name);
    await recordAudit(trx, audit(caller, 'EventTypeDeleted', name));
  });
}
