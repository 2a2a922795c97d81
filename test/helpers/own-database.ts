import knexFactory from 'knex';

export interface OwnDatabase {
  /** Connection URL of the new database. */
  url: string;
  /** Drops it (also with connections still open); for afterAll. */
  drop(): Promise<void>;
}

/**
 * An empty database of the test file's own on the test run's Postgres server (TEST_DB_ADMIN_URL),
 * for tests that walk migrations, re-seal every secret or need a pool of their own.
 */
export async function createOwnDatabase(label: string): Promise<OwnDatabase> {
  const adminUrl = process.env.TEST_DB_ADMIN_URL!;
  const name = `webhooks_${label}_${process.pid}_${Date.now()}`;
  const onAdmin = async (sql: string) => {
    const admin = knexFactory({ client: 'pg', connection: adminUrl });
    await admin.raw(sql, [name]).finally(() => admin.destroy());
  };
  await onAdmin('create database ??');
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => onAdmin('drop database if exists ?? with (force)') };
}
