import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { Caller } from '../domain/caller';
import { auditedBy, recordAudit, type AuditAction } from '../db/audit-repo';
import {
  findEventType,
  insertEventType,
  softDeleteEventType,
  updateEventType,
  type EventTypeRecord,
  type EventTypeWrite,
} from '../db/event-types-repo';
import type { Db } from '../db/knex';
import { tenantSettings } from '../db/tenants-repo';
import { AppError, ValidationError } from '../errors';
import { newId } from '../ids';
import type { AppDeps } from './deps';

const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: true });
addFormats(ajv);

const validators = new Map<string, ValidateFunction>();
const MAX_CACHED = 1000;

/** The property an error is about when Ajv reports it at the parent object (`required`, …). */
function namedProperty(e: ErrorObject): string | undefined {
  const params = e.params as { additionalProperty?: unknown; unevaluatedProperty?: unknown; missingProperty?: unknown; propertyName?: unknown };
  const name = params.additionalProperty ?? params.unevaluatedProperty ?? params.missingProperty ?? params.propertyName;
  return typeof name === 'string' ? name : undefined;
}

/**
 * Ajv's errors as one `{path, message}` per bad field: the JSON pointer becomes a dotted path
 * (`~1` and `~0` unescaped), ending in the property itself for errors Ajv reports at its parent.
 */
function describe(errors: ErrorObject[] | null | undefined, root: string) {
  return (errors ?? []).map((e) => {
    const segments = e.instancePath === '' ? [] : e.instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const property = namedProperty(e);
    return {
      path: [root, ...segments, ...(property === undefined ? [] : [property])].join('.'),
      message: e.message ?? 'is invalid',
      keyword: e.keyword,
    };
  });
}

/** Checks that `schema` is a usable JSON Schema; 422 naming what is wrong otherwise. */
export function assertJsonSchema(schema: Record<string, unknown>, path = 'body.payload_schema'): void {
  if (!ajv.validateSchema(schema)) {
    throw new ValidationError('payload_schema is not a valid JSON Schema', describe(ajv.errors, path));
  }
  try {
    ajv.compile(schema);
  } catch (err) {
    throw new ValidationError('payload_schema cannot be compiled', [{ path, message: err instanceof Error ? err.message : String(err) }]);
  }
}

function validatorFor(type: EventTypeRecord): ValidateFunction {
  const key = `${type.id}:${new Date(type.updated_at).getTime()}`;
  let validate = validators.get(key);
  if (!validate) {
    if (validators.size >= MAX_CACHED) validators.clear();
    validate = ajv.compile(type.payload_schema ?? {});
    validators.set(key, validate);
  }
  return validate;
}

/** Validates a payload against a schema given inline (the catalog's example payloads). */
export function assertMatchesSchema(schema: Record<string, unknown>, payload: unknown, path: string): void {
  const validate = ajv.compile(schema);
  if (!validate(payload)) throw new ValidationError(`${path} does not match payload_schema`, describe(validate.errors, path));
}

/**
 * Ingest check: a typed event's payload must match its schema (422 listing every error's path);
 * an untyped event is accepted only when the tenant allows it.
 */
export async function checkEventPayload(db: Db, tenantId: string, type: string, payload: unknown): Promise<EventTypeRecord | null> {
  const eventType = await findEventType(db, tenantId, type);
  if (!eventType) {
    if (!(await tenantSettings(db, tenantId)).allow_untyped_events) {
      throw new AppError(422, 'unknown_event_type', `event type ${type} is not in the catalog and this tenant does not accept untyped events`);
    }
    return null;
  }
  if (eventType.payload_schema) {
    const validate = validatorFor(eventType);
    if (!validate(payload)) {
      throw new ValidationError(`payload does not match the schema of ${type}`, describe(validate.errors, 'body.payload'));
    }
  }
  return eventType;
}

/** An event type as given: its payload schema and example are checked before anything is stored. */
export type EventTypeIn = Omit<Partial<EventTypeWrite>, 'name'> & { name: string };

/** Validates the schema (and the example against it), then fills in the defaults. */
function toWrite(input: EventTypeIn): EventTypeWrite {
  if (input.payload_schema) {
    assertJsonSchema(input.payload_schema);
    if (input.example_payload !== undefined) assertMatchesSchema(input.payload_schema, input.example_payload, 'body.example_payload');
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
  const write = toWrite(input);
  return db.transaction(async (trx) => {
    const updated = await updateEventType(trx, caller.tenantId, name, write);
    await recordAudit(trx, audit(caller, 'EventTypeUpdated', name));
    return updated;
  });
}

/** Removes an event type from the catalog; its events already sent keep their history. */
export async function deleteEventType({ db }: Pick<AppDeps, 'db'>, caller: Caller, name: string): Promise<void> {
  await db.transaction(async (trx) => {
    await softDeleteEventType(trx, caller.tenantId, name);
    await recordAudit(trx, audit(caller, 'EventTypeDeleted', name));
  });
}
