import type { Db } from './knex';
import { ConflictError, NotFoundError } from '../errors';
import { isUniqueViolation } from './knex';

export interface EventTypeRecord {
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  category: string | null;
  version: string | null;
  deprecated: boolean;
  payload_schema: Record<string, unknown> | null;
  example_payload: unknown;
  created_at: Date;
  updated_at: Date;
}

export type EventTypeWrite = Pick<EventTypeRecord, 'name' | 'description' | 'category' | 'version' | 'deprecated' | 'payload_schema' | 'example_payload'>;

export const EVENT_TYPE_COLUMNS = ['id', 'tenant_id', 'name', 'description', 'category', 'version', 'deprecated', 'payload_schema', 'example_payload', 'created_at', 'updated_at'] as const;
const live = (db: Db, tenantId: string) => db('event_types').where({ tenant_id: tenantId }).whereNull('deleted_at');
const toRow = (w: EventTypeWrite) => ({
  ...w,
  payload_schema: w.payload_schema === null ? null : JSON.stringify(w.payload_schema),
  example_payload: w.example_payload === null || w.example_payload === undefined ? null : JSON.stringify(w.example_payload),
});

async function uniqueName<T>(name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`event type ${name} already exists`);
    throw err;
  }
}

export async function insertEventType(db: Db, tenantId: string, id: string, w: EventTypeWrite): Promise<EventTypeRecord> {
  const [row] = await uniqueName(w.name, () => db('event_types').insert({ ...toRow(w), id, tenant_id: tenantId }).returning(EVENT_TYPE_COLUMNS));
  return row as EventTypeRecord;
}

export async function findEventType(db: Db, tenantId: string, name: string): Promise<EventTypeRecord | null> {
  return ((await live(db, tenantId).select(EVENT_TYPE_COLUMNS).where({ name }).first()) as EventTypeRecord | undefined) ?? null;
}

export async function getEventType(db: Db, tenantId: string, name: string): Promise<EventTypeRecord> {
  const row = await findEventType(db, tenantId, name);
  if (!row) throw new NotFoundError('event type', name);
  return row;
}

export async function updateEventType(db: Db, tenantId: string, name: string, w: EventTypeWrite): Promise<EventTypeRecord> {
  const [row] = await uniqueName(w.name, () =>
    live(db, tenantId).where({ name }).update({ ...toRow(w), updated_at: db.fn.now() }).returning(EVENT_TYPE_COLUMNS),
  );
  if (!row) throw new NotFoundError('event type', name);
  return row as EventTypeRecord;
}

export async function softDeleteEventType(db: Db, tenantId: string, name: string): Promise<void> {
  const count = await live(db, tenantId).where({ name }).update({ deleted_at: db.fn.now() });
  if (count === 0) throw new NotFoundError('event type', name);
}

export async function listEventTypes(db: Db, tenantId: string, filter: { category?: string; include_deprecated: boolean }): Promise<EventTypeRecord[]> {
  const q = live(db, tenantId).select(EVENT_TYPE_COLUMNS).orderBy('category').orderBy('name');
  if (filter.category) q.andWhere({ category: filter.category });
  if (!filter.include_deprecated) q.andWhere({ deprecated: false });
  return (await q) as EventTypeRecord[];
}

/** How many live endpoints subscribe to a type (directly or with `*`), and when it last fired. */
export async function eventTypeUsage(db: Db, tenantId: string, name: string): Promise<{ subscribers: number; last_fired_at: Date | null }> {
  const [subs, last] = await Promise.all([
    db('endpoints')
      .where({ tenant_id: tenantId })
      .whereNull('deleted_at')
      .andWhere((q) => q.whereRaw('events @> ?::jsonb', [JSON.stringify([name])]).orWhereRaw('events @> ?::jsonb', [JSON.stringify(['*'])]))
      .count<{ n: string }[]>({ n: '*' })
      .first(),
    db('events').where({ tenant_id: tenantId, type: name }).max<{ at: Date | null }>({ at: 'created_at' }).first(),
  ]);
  return { subscribers: Number(subs?.n ?? 0), last_fired_at: last?.at ?? null };
}
