import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { ValidationError } from '../errors';
import type { DeliveryState } from '../domain/delivery';
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

function decodeCursor(cursor: string | undefined): Uint8Array | undefined {
  if (!cursor) return undefined;
  const bytes = Buffer.from(cursor, 'base64url');
  if (bytes.length === 0) throw new ValidationError('cursor is not valid', [{ path: 'cursor', message: 'invalid cursor' }]);
  return bytes;
}

/** A page of deliveries from Temporal visibility, with the total and next cursor. */
export async function searchDeliveries(
  client: Client,
  search: DeliverySearch,
): Promise<{ items: DeliverySummary[]; total: number; next_cursor: string | null }> {
  const namespace = client.options.namespace;
  const query = deliveryQuery(search);
  const service = client.workflowService;
  const [page, count] = await Promise.all([
    service.listWorkflowExecutions({
      namespace,
      query,
      pageSize: search.limit,
      nextPageToken: decodeCursor(search.cursor),
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
    next_cursor: token && token.length > 0 ? Buffer.from(token).toString('base64url') : null,
  };
}
