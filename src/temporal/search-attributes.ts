import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes every delivery carries, so operators can find it in the Temporal Web UI and
 * the API can read delivery logs from visibility. This module is safe to import from workflows.
 */
export const TenantId = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);
export const EndpointId = defineSearchAttributeKey('EndpointId', SearchAttributeType.KEYWORD);
export const EventType = defineSearchAttributeKey('EventType', SearchAttributeType.KEYWORD);
export const EventId = defineSearchAttributeKey('EventId', SearchAttributeType.KEYWORD);
export const DeliveryStatus = defineSearchAttributeKey('DeliveryStatus', SearchAttributeType.KEYWORD);

/** Name → type of every custom search attribute the project registers on its namespace. */
export const SEARCH_ATTRIBUTES = [TenantId, EndpointId, EventType, EventId, DeliveryStatus] as const;

/** Quotes a value for a visibility query; values are validated upstream, this is defence in depth. */
export function visibilityString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
