import { mkdirSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { migrationSource } from './migrations';

export type Db = Knex;

/**
 * Opens the database: the Postgres server at DATABASE_URL when set, otherwise an embedded
 * Postgres (PGlite) stored under PGLITE_DIR. Both run the same migrations.
 */
export function openDatabase(config: Config, log: Logger): Db {
  if (config.DATABASE_URL) {
    log.debug('using postgres server');
    return knexFactory({
      client: 'pg',
      connection: config.DATABASE_URL,
      pool: { min: 0, max: config.DATABASE_POOL_MAX },
    });
  }
  mkdirSync(config.PGLITE_DIR, { recursive: true });
  log.info({ dir: config.PGLITE_DIR }, 'DATABASE_URL unset: using embedded postgres (PGlite)');
  return knexFactory({
    client: ClientPgLite,
    dialect: 'postgres',
    connection: { filename: config.PGLITE_DIR },
  } as Knex.Config);
}

/** Brings the schema up to date and makes sure the default tenant exists. */
export async function migrate(db: Db, defaultTenantId: string): Promise<void> {
  await db.migrate.latest({ migrationSource });
  await db('tenants')
    .insert({ id: defaultTenantId, name: defaultTenantId })
    .onConflict('id')
    .ignore();
}

/** True when the error is a Postgres unique violation. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}
