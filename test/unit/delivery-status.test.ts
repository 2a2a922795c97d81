import { DELIVERY_STATES, type DeliveryState } from '../../src/domain/delivery';
import { deliveryStateCondition, deliveryStateOf } from '../../src/temporal/delivery-status';

const EXECUTION = ['RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT', 'CONTINUED_AS_NEW'] as const;
const VISIBILITY: Record<(typeof EXECUTION)[number], string> = {
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Canceled',
  TERMINATED: 'Terminated',
  TIMED_OUT: 'TimedOut',
  CONTINUED_AS_NEW: 'ContinuedAsNew',
};
// Every delivery starts with the attribute (`pending`), and no delivery continues as new.
const ATTRIBUTES = ['pending', 'retrying', 'succeeded', 'failed', 'cancelled'] as const;

/**
 * Evaluates a visibility condition as Temporal would, for one run: only the shapes
 * deliveryStateCondition writes (=, !=, IN, AND, OR, parentheses).
 */
function holds(condition: string, run: { ExecutionStatus: string; DeliveryStatus: string | undefined }): boolean {
  const js = condition
    .replace(/(ExecutionStatus|DeliveryStatus) IN \(([^)]*)\)/g, (_, field: string, list: string) => `[${list}].includes(run.${field})`)
    .replace(/(ExecutionStatus|DeliveryStatus) != /g, 'run.$1 !== ')
    .replace(/(ExecutionStatus|DeliveryStatus) = /g, 'run.$1 === ')
    .replace(/ AND /g, ' && ')
    .replace(/ OR /g, ' || ');
  return new Function('run', `return ${js};`)(run) as boolean;
}

describe('a delivery’s state from its run', () => {
  it('when a run completed with the attribute it had while running (no succeeded upsert), then it succeeded', () => {
    expect(deliveryStateOf('COMPLETED', 'pending')).toBe('succeeded');
    expect(deliveryStateOf('COMPLETED', 'retrying')).toBe('succeeded');
    expect(deliveryStateOf('COMPLETED', 'succeeded')).toBe('succeeded');
    expect(deliveryStateOf('COMPLETED', undefined)).toBe('succeeded');
  });

  it('when a run completed without delivering (before dead letters ended as failures), then its attribute says so', () => {
    expect(deliveryStateOf('COMPLETED', 'failed')).toBe('failed');
    expect(deliveryStateOf('COMPLETED', 'cancelled')).toBe('cancelled');
  });

  it.each(DELIVERY_STATES)('when visibility is searched for %s, then it finds exactly the runs read as that state', (state: DeliveryState) => {
    const quote = (value: string) => `'${value}'`;
    const condition = deliveryStateCondition(state, quote);
    for (const execution of EXECUTION.filter((e) => e !== 'CONTINUED_AS_NEW')) {
      for (const attribute of ATTRIBUTES) {
        const found = holds(condition, { ExecutionStatus: VISIBILITY[execution], DeliveryStatus: attribute });
        expect([execution, attribute, found]).toEqual([execution, attribute, deliveryStateOf(execution, attribute) === state]);
      }
    }
  });
});
