import { deliveryQuery } from '../../src/temporal/delivery-search';

describe('deliveryQuery', () => {
  it('when an endpoint log is searched, then the TenantId condition is always there', () => {
    expect(deliveryQuery({ tenantId: 't1', endpointId: 'ep_1' })).toBe(
      "WorkflowType = 'deliveryWorkflow' AND TenantId = 't1' AND EndpointId = 'ep_1'",
    );
  });

  it('when filters are given, then each adds a condition and quotes are escaped', () => {
    const q = deliveryQuery({ tenantId: "t'1", endpointId: 'ep_1', status: 'failed', eventType: 'a.b', since: new Date('2026-01-01T00:00:00Z') });
    expect(q).toContain("TenantId = 't\\'1'");
    // `failed` reads the search attribute together with the execution status (a dead letter ends Failed).
    expect(q).toContain("(ExecutionStatus = 'TimedOut' OR (ExecutionStatus = 'Failed' AND DeliveryStatus != 'cancelled') OR (DeliveryStatus = 'failed' AND ExecutionStatus IN ('Completed', 'Running'))) AND EventType = 'a.b' AND StartTime >= '2026-01-01T00:00:00.000Z'");
  });
});

describe("deliveryQuery for an event's deliveries", () => {
  it('when an event id is given, then it is searched within the tenant', () => {
    expect(deliveryQuery({ tenantId: 't1', eventId: 'evt_1' })).toBe(
      "WorkflowType = 'deliveryWorkflow' AND TenantId = 't1' AND EventId = 'evt_1'",
    );
  });
});
