import type { DeliveryState } from '../domain/delivery';

/**
 * A delivery's state from its run: the `DeliveryStatus` search attribute the workflow keeps,
 * read together with the run's execution status, which says what the workflow could not (a run
 * terminated or timed out by Temporal keeps the attribute it had). One rule for the delivery view,
 * the delivery log and event pages.
 */
export function deliveryStateOf(executionStatus: string, searchStatus: unknown): DeliveryState {
  const kept = typeof searchStatus === 'string' ? (searchStatus as DeliveryState) : undefined;
  switch (executionStatus) {
    case 'TERMINATED':
      return 'terminated';
    case 'TIMED_OUT':
      return 'failed';
    case 'CANCELLED':
      return 'cancelled';
    case 'FAILED':
      // A dead letter (failed), or a delivery its endpoint was switched off for (cancelled).
      return kept === 'cancelled' ? 'cancelled' : 'failed';
    case 'COMPLETED':
      // A run completes when it delivered; one that completed without delivering (before dead
      // letters ended as failures) says so in its attribute. A success keeps the attribute it
      // had while running (`pending`, `retrying`): the run's close says it (SUCCESS_BY_CLOSE).
      return kept === 'failed' || kept === 'cancelled' ? kept : 'succeeded';
    default:
      return kept ?? 'pending';
  }
}

/** Visibility's name of an execution status (`ExecutionStatus = 'Running'`), from the API's enum names. */
const EXECUTION_STATUS_NAMES: Record<string, string> = {
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Canceled',
  TERMINATED: 'Terminated',
  CONTINUED_AS_NEW: 'ContinuedAsNew',
  TIMED_OUT: 'TimedOut',
};

/**
 * The visibility condition that finds deliveries in a state: the search attribute, narrowed or
 * widened by the execution status exactly as {@link deliveryStateOf} reads them.
 */
export function deliveryStateCondition(state: DeliveryState, quote: (value: string) => string): string {
  const among = (...names: string[]) => `ExecutionStatus IN (${names.map((n) => quote(EXECUTION_STATUS_NAMES[n]!)).join(', ')})`;
  const is = (name: string) => `ExecutionStatus = ${quote(EXECUTION_STATUS_NAMES[name]!)}`;
  const attribute = (value: string) => `DeliveryStatus = ${quote(value)}`;
  switch (state) {
    case 'pending':
    case 'retrying':
      return `(${attribute(state)} AND ${among('RUNNING', 'CONTINUED_AS_NEW')})`;
    case 'succeeded':
      return `((${attribute('succeeded')} AND ${among('COMPLETED', 'RUNNING')}) OR (${is('COMPLETED')} AND DeliveryStatus IN (${quote('pending')}, ${quote('retrying')})))`;
    case 'terminated':
      return is('TERMINATED');
    case 'cancelled':
      return `(${is('CANCELLED')} OR (${attribute('cancelled')} AND ${among('COMPLETED', 'FAILED', 'RUNNING', 'CONTINUED_AS_NEW')}))`;
    case 'failed':
      return `(${is('TIMED_OUT')} OR (${is('FAILED')} AND DeliveryStatus != ${quote('cancelled')}) OR (${attribute('failed')} AND ${among('COMPLETED', 'RUNNING')}))`;
  }
}
