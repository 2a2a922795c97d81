import { loadConfig, loadDotEnv } from '../src/config';
import { migrate, openDatabase } from '../src/db/knex';
import { createLogger } from '../src/logger';

/** `npm run migrate`: brings the configured database's schema up to date. */
async function main() {
  loadDotEnv();
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, 'migrate');
  const db = openDatabase(config, log);
  try {
    await migrate(db, config.DEFAULT_TENANT_ID);
    const [, done] = await db.migrate.list({ migrationSource: (await import('../src/db/migrations')).migrationSource });
    log.info({ pending: done.length }, 'database schema is up to date');
  } finally {
    await db.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
