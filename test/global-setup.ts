import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import knexFactory from 'knex';
import { migrate } from '../src/db/knex';
import { createLogger } from '../src/logger';
import type { RunningTemporal } from '../src/dev/running-temporal';
import { startTemporalDevServer } from '../src/dev/temporal-dev-server';
import { WORKFLOWS_PATH } from '../src/temporal/worker';

declare global {
  var __TEST_TEMPORAL__: RunningTemporal | undefined;
}

/**
 * Once per run: a database of our own on the real Postgres server, a Temporal dev server (unless
 * TEMPORAL_ADDRESS points at one) and one workflow bundle shared by every test's worker.
 */
export default async function globalSetup(): Promise<void> {
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

  let address = process.env.TEMPORAL_ADDRESS;
  if (!address) {
    const server = await startTemporalDevServer({ port: 0, uiPort: null, namespace: 'default', log });
    globalThis.__TEST_TEMPORAL__ = server;
    address = server.address;
  }

  const dir = mkdtempSync(path.join(os.tmpdir(), 'webhooks-test-'));
  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m) => log.error(m) } });
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  Object.assign(process.env, {
    TEST_DB_ADMIN_URL: adminUrl,
    TEST_DB_NAME: dbName,
    TEST_DB_URL: url.toString(),
    TEST_TEMPORAL_ADDRESS: address,
    TEST_WORKFLOW_BUNDLE: bundlePath,
  });
}
