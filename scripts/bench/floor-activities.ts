import { request, type Dispatcher } from 'undici';

/** Input of the floor workflows: where to POST, the event id header, the JSON body. */
export interface FloorIn {
  url: string;
  id: string;
  body: string;
}

/**
 * The floors' only activity: one POST with undici (keep-alive), failing (so Temporal retries)
 * on non-2xx. `onPosted` counts the POSTs that succeeded (the floor process reports it).
 */
export function createFloorActivities(http: Dispatcher, onPosted: () => void = () => undefined) {
  return {
    async postJson(input: FloorIn): Promise<number> {
      const res = await request(input.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-event-id': input.id },
        body: input.body,
        dispatcher: http,
        signal: AbortSignal.timeout(2_000),
      });
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`receiver answered ${res.statusCode}`);
      onPosted();
      return res.statusCode;
    },
  };
}

export type FloorActivities = ReturnType<typeof createFloorActivities>;
