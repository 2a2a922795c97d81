/** Messages between the bench and its step process (Node IPC). */

export type ToStep =
  /** Store `count` events and their deliveries to the step's endpoint (created once, at `url`); answer `prepared`. */
  | { type: 'prepare'; tag: number; url: string; count: number }
  /**
   * Run the next `count` prepared deliveries, `concurrency` at a time: the delivery step
   * (`deliverAttempt`, first attempt) or the floor's activity (`postJson`, the same body to the
   * same receiver); answer `done`.
   */
  | { type: 'round'; tag: number; kind: 'step' | 'floor'; count: number; concurrency: number };

export type FromStep =
  | { type: 'ready' }
  | { type: 'prepared'; tag: number }
  /**
   * `cpuMs`: this process's CPU during the round (all its threads, `process.cpuUsage`);
   * `queries`: SQL statements the round issued; `failed`: calls that did not deliver.
   */
  | { type: 'done'; tag: number; cpuMs: number; queries: number; failed: number }
  | { type: 'failed'; tag: number; message: string };
