import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Db } from '../db/knex';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { SecretBox } from '../security/secret-box';
import type { Tracing } from '../tracing';
import type { StartDeliveries } from '../temporal/delivery-workflows';

/** The process wiring the API's use cases run against; built once at start. */
export interface AppDeps {
  config: Config;
  db: Db;
  box: SecretBox;
  temporal: Client;
  /**
   * How ingest starts deliveries. Unset: through `temporal`. `npm start` starts them eagerly on
   * the worker of its own process; the API process, when WORKER_START_URLS is set, hands them to a
   * worker that does (src/temporal/start-relay.ts).
   */
  startDeliveries?: StartDeliveries | null;
  log: Logger;
  metrics: Metrics;
  /** Set when tracing is on: each request gets a server span (see src/tracing.ts). */
  tracing?: Tracing | null;
}
