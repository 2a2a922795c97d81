/** A Temporal server this process started (the dev server, or a local cluster). */
export interface RunningTemporal {
  /** gRPC frontend address (`host:port`) for `Connection.connect` / `NativeConnection.connect`. */
  readonly address: string;
  /** Web UI base URL, or `null` when it runs headless. */
  readonly uiUrl: string | null;
  /**
   * Settles when the server process ends, whoever ended it (absent for the SDK-downloaded
   * fallback, which does not report it). Lets a long-running entry point notice a crash.
   */
  readonly exited?: Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL after 10 s) and waits until it is gone. Idempotent. */
  stop(): Promise<void>;
}
