import path from 'node:path';
import { request, type Dispatcher } from 'undici';
import { withDeadline } from '../../src/http/deadline';
import { MODULE_EXT } from '../../src/temporal/workflows-path';

const FLOOR_WORKFLOWS_PATH = path.join(__dirname, `floor-workflows${MODULE_EXT}`);

/**
 * Where a floor worker finds its workflows (the SDK bundles them at start), preloaded into the
 * sandbox once as the service's are (see WORKFLOW_PRELOAD_MODULES): a floor gets every setting
 * that makes the service's workflows cheaper and that any Temporal worker could use.
 */
export const FLOOR_WORKFLOWS = { workflowsPath: FLOOR_WORKFLOWS_PATH, bundlerOptions: { preloadModules: [FLOOR_WORKFLOWS_PATH] } };

/** Input of the floor workflows: where to POST, the event id header, the JSON body. */
export interface FloorIn {
  url: string;
  id: string;
  body: string;
  /** The POST's summary in the Web UI, as the service's attempt step has one (the visibility run). */
  summary?: string;
}

/**
 * The floors' only activity: one POST with undici (keep-alive), failing (so Temporal retries)
 * on non-2xx. `onPosted` counts the POSTs that succeeded (the floor process reports it).
 */
export function createFloorActivities(http: Dispatcher, onPosted: () => void = () => undefined) {
  return {
    async postJson(input: FloorIn): Promise<number> {
      // The service's deadline, cleared when the POST ends (AbortSignal.timeout's timer would keep
      // the activity's context for its whole term: src/http/deadline.ts).
      const status = await withDeadline(2_000, async (signal) => {
        const res = await request(input.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-event-id': input.id },
          body: input.body,
          dispatcher: http,
          signal,
        });
        await res.body.dump();
        return res.statusCode;
      });
      if (status < 200 || status >= 300) throw new Error(`receiver answered ${status}`);
      onPosted();
      return status;
    },
  };
}

export type FloorActivities = ReturnType<typeof createFloorActivities>;
