import { activityInfo, Context } from '@temporalio/activity';
import { markBlocked, markDone, readLine, type Line } from '../src/db/fifo-repo';
import { wakeSequencer } from '../src/temporal/fifo-sequencers';
import type { ActivityDeps } from './deps';

/** How many of a line's next deliveries one read brings. */
const LINE_PAGE = 25;

/** The activities of a FIFO endpoint's sequencer: read the line, note its progress. */
export function createFifoActivities({ db }: ActivityDeps) {
  return {
    /** The line's state and its next deliveries, or null when the endpoint does not exist at all. */
    async readLine(input: { tenantId: string; endpointId: string; afterSequence?: number }): Promise<Line | null> {
      return readLine(db, input.tenantId, input.endpointId, LINE_PAGE, input.afterSequence);
    },
    /** The line moved past this delivery (delivered, or skipped). */
    async markLineDone(input: { tenantId: string; endpointId: string; sequence: number }): Promise<void> {
      await markDone(db, input.tenantId, input.endpointId, input.sequence);
    },
    /** Wakes the sequencers of FIFO endpoints an event has deliveries for (the fan-out's part). */
    async wakeSequencers(input: { tenantId: string; endpointIds: string[] }): Promise<void> {
      const { client } = Context.current();
      await Promise.all(input.endpointIds.map((endpointId) => wakeSequencer(client, activityInfo().taskQueue, { tenantId: input.tenantId, endpointId })));
    },
    /** The line waits on this delivery (null: on nothing) until it is redelivered or skipped. */
    async markLineBlocked(input: { tenantId: string; endpointId: string; deliveryId: string | null }): Promise<void> {
      await markBlocked(db, input.tenantId, input.endpointId, input.deliveryId);
    },
  };
}
