import { request, type Dispatcher } from 'undici';

/** Input of the floor workflow: where to POST, the event id header, the JSON body. */
export interface FloorIn {
  url: string;
  id: string;
  body: string;
}

/** The floor's only activity: one POST with undici, failing (so Temporal retries) on non-2xx. */
export function createFloorActivities(http: Dispatcher) {
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
      return res.statusCode;
    },
  };
}
