import type { Knex } from 'knex';
import * as initial from './001-initial';
import * as tenancy from './002-tenancy-auth-catalog';
import * as keyrings from './003-keyrings-telemetry';
import * as inbound from './004-inbound';
import * as endpointHealth from './005-endpoint-health';
import * as endpointRateLimit from './006-endpoint-rate-limit';
import * as attemptsStreamIndex from './007-attempts-stream-index';
import * as endpointTemplate from './008-endpoint-template';
import * as endpointCounters from './009-endpoint-counters';
import * as auditKeysetIndex from './010-audit-keyset-index';
import * as eventRequestHash from './011-event-request-hash';
import * as tenantsApi from './012-tenants-api';
import * as eventOutbox from './013-event-outbox';
import * as sealedUrlsRateSlots from './014-sealed-urls-rate-slots';
import * as fifoEndpoints from './015-fifo-endpoints';
import * as recoveryRetention from './016-recovery-retention';
import * as operationalWebhooksCircuits from './017-operational-webhooks-circuits';
import * as portalSessions from './018-portal-sessions';
import * as endpointClientTls from './019-endpoint-client-tls';
import * as rowCounts from './020-row-counts';
import * as endpointDisabledBy from './021-endpoint-disabled-by';
import * as attemptCountShards from './022-attempt-count-shards';
import * as tenantKeysOffHotRows from './023-tenant-keys-off-hot-rows';
import * as countShardBySession from './024-count-shard-by-session';

type Migration = { up(knex: Knex): Promise<void>; down(knex: Knex): Promise<void> };

/** Migrations in order. Listed here (not discovered on disk) so tsx, jest and compiled code agree. */
const MIGRATIONS: ReadonlyArray<[string, Migration]> = [
  ['001-initial', initial],
  ['002-tenancy-auth-catalog', tenancy],
  ['003-keyrings-telemetry', keyrings],
  ['004-inbound', inbound],
  ['005-endpoint-health', endpointHealth],
  ['006-endpoint-rate-limit', endpointRateLimit],
  ['007-attempts-stream-index', attemptsStreamIndex],
  ['008-endpoint-template', endpointTemplate],
  ['009-endpoint-counters', endpointCounters],
  ['010-audit-keyset-index', auditKeysetIndex],
  ['011-event-request-hash', eventRequestHash],
  ['012-tenants-api', tenantsApi],
  ['013-event-outbox', eventOutbox],
  ['014-sealed-urls-rate-slots', sealedUrlsRateSlots],
  ['015-fifo-endpoints', fifoEndpoints],
  ['016-recovery-retention', recoveryRetention],
  ['017-operational-webhooks-circuits', operationalWebhooksCircuits],
  ['018-portal-sessions', portalSessions],
  ['019-endpoint-client-tls', endpointClientTls],
  ['020-row-counts', rowCounts],
  ['021-endpoint-disabled-by', endpointDisabledBy],
  ['022-attempt-count-shards', attemptCountShards],
  ['023-tenant-keys-off-hot-rows', tenantKeysOffHotRows],
  ['024-count-shard-by-session', countShardBySession],
];

export const migrationSource: Knex.MigrationSource<[string, Migration]> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};
