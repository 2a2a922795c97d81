import type { Config } from '../src/config';
import type { OutboundDispatchers } from '../src/http/dispatchers';
import type { Db } from '../src/db/knex';
import type { Logger } from '../src/logger';
import type { Metrics } from '../src/metrics';
import type { EgressPolicy } from '../src/security/egress';
import type { SecretBox } from '../src/security/secret-box';

/** What activities need from the process; built once by the worker. */
export interface ActivityDeps {
  db: Db;
  box: SecretBox;
  log: Logger;
  metrics: Metrics;
  /**
   * Outbound HTTP: a shared dispatcher, and one per endpoint with TLS settings of its own; every
   * one reaches only destinations the egress policy allows (through `EGRESS_PROXY_URL` when set).
   */
  outbound: OutboundDispatchers;
  egress: EgressPolicy;
  config: Pick<
    Config,
    | 'DELIVERY_TIMEOUT_MS'
    | 'RESPONSE_EXCERPT_BYTES'
    | 'RETRY_AFTER_MAX_MS'
    | 'TELEMETRY_RETENTION_DAYS'
    | 'ENDPOINT_DISABLE_AFTER_SECONDS'
    | 'CIRCUIT_FAILURE_THRESHOLD'
    | 'CIRCUIT_COOLDOWN_SECONDS'
    | 'KEY_EXPIRING_NOTICE_SECONDS'
    | 'OUTBOX_GRACE_SECONDS'
    /** Also the cap on a body rendered from an endpoint's template. */
    | 'MAX_BODY_BYTES'
  >;
}
