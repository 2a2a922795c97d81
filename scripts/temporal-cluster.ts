/**
 * `npm run cluster`: a production-shape Temporal server on Postgres (SQL visibility), built from
 * its Go module into `.tools/bin` on first use, with the project's namespace and search
 * attributes, until Ctrl-C / SIGTERM. Settings: TEMPORAL_CLUSTER_* and TEMPORAL_NAMESPACE.
 * `npm run cluster -- --install-only`: only builds (or finds) the server and its schema tool.
 */
import path from 'node:path';
import { loadDevConfig, PROJECT_ROOT } from '../src/config';
import type { Logger } from '../src/logger';
import { print, serverScript, serveUntilStopped } from '../src/dev/server-script';
import { findOrBuildClusterBinaries, TEMPORAL_SERVER_VERSION } from '../src/dev/cluster/binaries';
import { startTemporalCluster } from '../src/dev/cluster/cluster';

const USAGE = `usage: npm run cluster [-- --install-only]

  (no option)     create or upgrade the databases TEMPORAL_CLUSTER_DATABASE and
                  <name>_visibility on TEMPORAL_CLUSTER_POSTGRES_URL, start Temporal
                  ${TEMPORAL_SERVER_VERSION} on TEMPORAL_CLUSTER_PORT with TEMPORAL_CLUSTER_SHARDS
                  history shards, register TEMPORAL_NAMESPACE (retention
                  TEMPORAL_RETENTION_DAYS) and the search attributes; run until Ctrl-C
  --install-only  build (or find) the server and the schema tool in .tools/bin, print their paths
`;

async function runCluster(log: Logger): Promise<number> {
  const config = loadDevConfig();
  const cluster = await startTemporalCluster({
    postgresUrl: config.TEMPORAL_CLUSTER_POSTGRES_URL,
    database: config.TEMPORAL_CLUSTER_DATABASE,
    namespace: config.TEMPORAL_NAMESPACE,
    retentionDays: config.TEMPORAL_RETENTION_DAYS,
    shards: config.TEMPORAL_CLUSTER_SHARDS,
    port: config.TEMPORAL_CLUSTER_PORT,
    dir: path.join(PROJECT_ROOT, '.data', 'temporal-cluster', config.TEMPORAL_CLUSTER_DATABASE),
    log,
  });
  print(`Temporal ${TEMPORAL_SERVER_VERSION}: ${cluster.address} (namespace ${config.TEMPORAL_NAMESPACE}, retention ${config.TEMPORAL_RETENTION_DAYS} d)`);
  print(`Databases:       ${cluster.databases.main}, ${cluster.databases.visibility} (${config.TEMPORAL_CLUSTER_SHARDS} history shards)`);
  print(`Use it:          TEMPORAL_ADDRESS=${cluster.address} npm run start:worker (and start:api)`);
  print('Press Ctrl-C to stop.');

  return serveUntilStopped(cluster, 'the Temporal server', log);
}

async function installOnly(log: Logger): Promise<number> {
  const binaries = await findOrBuildClusterBinaries(log);
  print(binaries.server);
  print(binaries.sqlTool);
  return 0;
}

serverScript('temporal-cluster', USAGE, { install: installOnly, run: runCluster });
