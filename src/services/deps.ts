import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Db } from '../db/knex';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { SecretBox } from '../security/secret-box';
import type { Tracing } from '../tracing';

/** The process wiring the API's use cases run against; built once at start. */
export interface AppDeps {
  config: Config;
  db: Db;
  box: SecretBox;
  temporal: Client;
  /**
   * Set where a worker of this process polls the delivery task queue (`npm start`, `src/main.ts`):
   * a client on that worker's connection, through which ingest starts deliveries eagerly.
   */
  eagerClient?: Client | null;
  log: Logger;
  metrics: Metrics;
  /** Set when tracing is on: each request gets a server span (see src/tracing.ts). */
  tracing?: Tracing | null;
}
