import knexFactory from 'knex';
import { migrate } from '../src/db/knex';
import { createLogger } from '../src/logger';
import type { RunningTemporal } from '../src/dev/running-temporal';
import { startTemporalCluster } from '../src/dev/cluster/cluster';
import { startTemporalDevServer } from '../src/dev/temporal-dev-server';
import { bundleWorkflowsApart, type BuiltBundle } from '../src/temporal/workflow-bundle';

declare global {
  var __TEST_TEMPORAL__: RunningTemporal | undefined;
  var __TEST_WORKFLOW_BUNDLE__: BuiltBundle | undefined;
}

/**
 * Once per run: a database of our own on the real Postgres server, a Temporal server and one
 * workflow bundle shared by every test's worker. The server is a dev server (unless
 * TEMPORAL_ADDRESS points at one), or with `cluster` (`npm run test:cluster`) a Temporal server
 * on that Postgres with databases of its own, created fresh and dropped at the end.
 */
export async function setupTestRun(temporal: 'dev' | 'cluster'): Promise<void> {
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', 'test-setup');
  const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `webhooks_test_${process.pid}_${Date.now()}`;
  const admin = knexFactory({ client: 'pg', connection: adminUrl });
  try {
    await admin.raw(`create database ??`, [dbName]);
  } finally {
    await admin.destroy();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const db = knexFactory({ client: 'pg', connection: url.toString() });
  await migrate(db, 'default');
  await db.destroy();

  let address = temporal === 'cluster' ? undefined : process.env.TEMPORAL_ADDRESS;
  if (temporal === 'cluster') {
    const cluster = await startTemporalCluster({
      postgresUrl: adminUrl,
      database: `temporal_test_${process.pid}_${Date.now()}`,
      namespace: 'default',
      retentionDays: 1,
      shards: Number(process.env.TEST_CLUSTER_SHARDS ?? 4),
      port: 0,
      // The Postgres server may be shared: a small pool is plenty for the tests.
      maxConns: 6,
      log,
    });
    globalThis.__TEST_TEMPORAL__ = { address: cluster.address, uiUrl: null, stop: () => cluster.destroy() };
    address = cluster.address;
  } else if (!address) {
    const server = await startTemporalDevServer({ port: 0, uiPort: null, namespace: 'default', log });
    globalThis.__TEST_TEMPORAL__ = server;
    address = server.address;
  }

  // Bundled as a worker bundles its own (same options, same child process), once for the run.
  const bundle = await bundleWorkflowsApart(log, { tracing: false });
  globalThis.__TEST_WORKFLOW_BUNDLE__ = bundle;

  Object.assign(process.env, {
    TEST_DB_ADMIN_URL: adminUrl,
    TEST_DB_NAME: dbName,
    TEST_DB_URL: url.toString(),
    TEST_TEMPORAL_ADDRESS: address,
    TEST_WORKFLOW_BUNDLE: bundle.codePath,
  });
}

export default function globalSetup(): Promise<void> {
  return setupTestRun('dev');
}
