import { z } from 'zod';
import { AUDIT_COLUMNS as COLUMNS, listAudit } from '../db/audit-repo';
import type { AppDeps } from '../services/deps';
import { caller } from './auth';
import { RouteTable } from './route-table';
import { isoTimestamp } from './schemas';

/** The deepest offset page; `cursor` goes further. */
const MAX_AUDIT_OFFSET = 10_000;

const auditQuery = z
  .object({
    action: z.string().max(64).regex(/^[A-Za-z]+$/).optional(),
    resource_type: z.string().max(64).regex(/^[a-z_]+$/).optional(),
    resource_id: z.string().max(128).optional(),
    actor: z.string().max(200).optional(),
    since: isoTimestamp().optional(),
    until: isoTimestamp().optional(),
    format: z.enum(['json', 'csv']).default('json'),
    limit: z.coerce.number().int().min(1).max(10_000).default(100),
    /** Offset paging stops here: deeper pages walk with `cursor`, which costs the same at any depth. */
    offset: z.coerce.number().int().min(0).max(MAX_AUDIT_OFFSET).optional(),
    cursor: z.string().regex(/^[1-9][0-9]{0,18}$/, 'must be a next_cursor value').optional(),
  })
  .strict()
  .refine((q) => q.offset === undefined || q.cursor === undefined, { message: 'give offset or cursor, not both', path: ['cursor'] });


/** RFC 4180 field: quoted when needed; a leading formula character is neutralized for spreadsheets. */
export function csvField(value: unknown): string {
  let text = value === null || value === undefined ? '' : value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** `/api/v1/audit`: the tenant's domain events, filtered, as JSON or CSV. */
export function auditRoutes(deps: AppDeps): RouteTable {
  const table = new RouteTable('/audit', 'audit');
  table.add({ method: 'get', path: '/', summary: 'Audit log, filtered; format=csv exports it', scope: 'audit:read', query: auditQuery, raw: true }, async ({ query, res }) => {
    const { items, total } = await listAudit(deps.db, caller(res).tenantId, {
      action: query.action,
      resourceType: query.resource_type,
      resourceId: query.resource_id,
      actor: query.actor,
      since: query.since ? new Date(query.since) : undefined,
      until: query.until ? new Date(query.until) : undefined,
      limit: query.limit,
      offset: query.offset,
      beforeId: query.cursor === undefined ? undefined : BigInt(query.cursor),
    });
    // The last id of a full page is where the next one starts.
    const nextCursor = items.length === query.limit ? String(items.at(-1)!.id) : null;
    if (query.format === 'csv') {
      res.setHeader('content-type', 'text/csv; charset=utf-8');
      res.setHeader('content-disposition', 'attachment; filename="audit.csv"');
      if (nextCursor) res.setHeader('x-next-cursor', nextCursor);
      res.send([COLUMNS.join(','), ...items.map((r) => COLUMNS.map((c) => csvField(r[c])).join(','))].join('\r\n') + '\r\n');
      return;
    }
    res.json({ ok: true, data: { items, total, limit: query.limit, offset: query.cursor === undefined ? (query.offset ?? 0) : null, next_cursor: nextCursor } });
  });
  return table;
}
