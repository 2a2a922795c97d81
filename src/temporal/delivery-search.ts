import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { temporal } from '@temporalio/proto';
import type { DeliveryState } from '../domain/delivery';
import { AppError } from '../errors';
import { timestampMs } from './delivery-log';
import { deliveryStateCondition, deliveryStateOf } from './delivery-status';
import { DELIVERY_WORKFLOW } from './delivery-workflows';
import { visibilityString as quote } from './search-attributes';

export interface DeliverySearch {
  tenantId: string;
  /** An endpoint's log, an event's deliveries, or both. */
  endpointId?: string;
  eventId?: string;
  status?: DeliveryState;
  eventType?: string;
  since?: Date;
  until?: Date;
  limit: number;
  cursor?: string;
}

export interface DeliverySummary {
  workflow_id: string;
  /** A redelivered delivery has one run per redelivery; the newest is listed first. */
  run_id: string;
  event_id: string | null;
  event_type: string | null;
  status: string;
  started_at: string | null;
  closed_at: string | null;
}

/** The API's name of an execution status enum value (`RUNNING`, `FAILED`, …). */
function executionStatusName(status: number | null | undefined): string {
  const name = temporal.api.enums.v1.WorkflowExecutionStatus[status ?? 0] ?? '';
  return name.replace('WORKFLOW_EXECUTION_STATUS_', '').replace('CANCELED', 'CANCELLED');
}

/** The visibility query for deliveries; the TenantId condition is always present. */
export function deliveryQuery(search: Omit<DeliverySearch, 'limit' | 'cursor'>): string {
  const clauses = [`WorkflowType = ${quote(DELIVERY_WORKFLOW)}`, `TenantId = ${quote(search.tenantId)}`];
  if (search.endpointId) clauses.push(`EndpointId = ${quote(search.endpointId)}`);
  if (search.eventId) clauses.push(`EventId = ${quote(search.eventId)}`);
  if (search.status) clauses.push(deliveryStateCondition(search.status, quote));
  if (search.eventType) clauses.push(`EventType = ${quote(search.eventType)}`);
  if (search.since) clauses.push(`StartTime >= ${quote(search.since.toISOString())}`);
  if (search.until) clauses.push(`StartTime < ${quote(search.until.toISOString())}`);
  return clauses.join(' AND ');
}

/** What the cursor MAC key is derived for, from the master key (`SecretBox.deriveKey`). */
export const CURSOR_KEY_PURPOSE = 'delivery-log-cursor/v1';

const MAC_BYTES = 16;
/** gRPC status of a request Temporal refuses as malformed. */
const GRPC_INVALID_ARGUMENT = 3;
const invalidCursor = () => new AppError(400, 'invalid_cursor', 'cursor is not one this API gave for this listing: list again without it');
const cursorMac = (key: Buffer, query: string, token: Buffer) => createHmac('sha256', key).update(query).update('\n').update(token).digest().subarray(0, MAC_BYTES);

/**
 * Our cursor around Temporal's page token: `token.mac`, the MAC binding the token to the listing's
 * query. Temporal never sees a token it did not make (a forged one made it retry for seconds, then
 * fail), and a cursor of one listing cannot page another.
 */
export function encodeCursor(key: Buffer, query: string, token: Uint8Array): string {
  const bytes = Buffer.from(token);
  return `${bytes.toString('base64url')}.${cursorMac(key, query, bytes).toString('base64url')}`;
}

/** The page token inside a cursor made by {@link encodeCursor} for this query; 400 `invalid_cursor` otherwise. */
export function decodeCursor(key: Buffer, query: string, cursor: string): Buffer {
  const [token, mac, extra] = cursor.split('.');
  if (!token || !mac || extra !== undefined) throw invalidCursor();
  const bytes = Buffer.from(token, 'base64url');
  const given = Buffer.from(mac, 'base64url');
  if (bytes.length === 0 || given.length !== MAC_BYTES || !timingSafeEqual(given, cursorMac(key, query, bytes))) throw invalidCursor();
  return bytes;
}

/** A page of deliveries from Temporal visibility, with the total and next cursor. */
export async function searchDeliveries(
  client: Client,
  search: DeliverySearch,
  cursorKey: Buffer,
): Promise<{ items: DeliverySummary[]; total: number; next_cursor: string | null }> {
  const namespace = client.options.namespace;
  const query = deliveryQuery(search);
  const service = client.workflowService;
  const nextPageToken = search.cursor === undefined ? undefined : decodeCursor(cursorKey, query, search.cursor);
  const [page, count] = await Promise.all([
    service.listWorkflowExecutions({ namespace, query, pageSize: search.limit, nextPageToken }).catch((err: unknown) => {
      // A token we made that Temporal no longer takes (its server was reset, say).
      if (nextPageToken && (err as { code?: number }).code === GRPC_INVALID_ARGUMENT) throw invalidCursor();
      throw err;
    }),
    service.countWorkflowExecutions({ namespace, query }),
  ]);
  const items = (page.executions ?? []).map((execution) => {
    const attributes = decodeTypedSearchAttributes(execution.searchAttributes?.indexedFields);
    const get = (name: string) => attributes.getAll().find((p) => p.key.name === name)?.value;
    const closedAt = execution.closeTime ? timestampMs(execution.closeTime) : null;
    const startedAt = execution.startTime ? timestampMs(execution.startTime) : null;
    return {
      workflow_id: execution.execution?.workflowId ?? '',
      run_id: execution.execution?.runId ?? '',
      event_id: (get('EventId') as string | undefined) ?? null,
      event_type: (get('EventType') as string | undefined) ?? null,
      status: deliveryStateOf(executionStatusName(execution.status), get('DeliveryStatus')),
      started_at: startedAt ? new Date(startedAt).toISOString() : null,
      closed_at: closedAt ? new Date(closedAt).toISOString() : null,
    };
  });
  const token = page.nextPageToken;
  return {
    items,
    total: Number(count.count ?? 0),
    next_cursor: token && token.length > 0 ? encodeCursor(cursorKey, query, token) : null,
  };
}
