import knexFactory from 'knex';

/** Drops the run's database, stops the dev server started by the setup and removes its workflow bundle. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__TEST_TEMPORAL__?.stop();
  await globalThis.__TEST_WORKFLOW_BUNDLE__?.remove();
  const adminUrl = process.env.TEST_DB_ADMIN_URL;
  const dbName = process.env.TEST_DB_NAME;
  if (!adminUrl || !dbName) return;
  const admin = knexFactory({ client: 'pg', connection: adminUrl });
  try {
    await admin.raw('drop database if exists ?? with (force)', [dbName]);
  } finally {
    await admin.destroy();
  }
}
