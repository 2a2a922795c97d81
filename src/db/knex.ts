import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { migrationSource } from './migrations';

export type Db = Knex;

/** The knex config key that turns {@link hotStatement}'s named statements on (a Postgres server only). */
const PREPARED = 'preparedStatements';
/** A prepared statement's name: its text's hash, so two texts never share one (a few µs per call). */
const statementName = (sql: string) => `hot_${createHash('sha256').update(sql).digest('hex').slice(0, 32)}`;

/**
 * Opens the database: the Postgres server at DATABASE_URL when set, otherwise an embedded
 * Postgres (PGlite) stored under PGLITE_DIR. Both run the same migrations.
 */
export function openDatabase(config: Config, log: Logger): Db {
  if (config.DATABASE_URL) {
    log.debug('using postgres server');
    const dbLog = log.child({ component: 'knex' });
    return knexFactory({
      client: 'pg',
      connection: config.DATABASE_URL,
      pool: { min: 0, max: config.DATABASE_POOL_MAX },
      [PREPARED]: config.DATABASE_PREPARED_STATEMENTS,
      // knex writes to the console by default; its notes belong in the process log.
      log: {
        warn: (message: unknown) => dbLog.warn(String(message)),
        error: (message: unknown) => dbLog.error(String(message)),
        deprecate: (method: string, alternative: string) => dbLog.warn(`${method} is deprecated, use ${alternative}`),
        debug: (message: unknown) => dbLog.debug({ message }, 'knex debug'),
      },
    } as Knex.Config);
  }
  mkdirSync(config.PGLITE_DIR, { recursive: true });
  log.info({ dir: config.PGLITE_DIR }, 'DATABASE_URL unset: using embedded postgres (PGlite)');
  // Loaded only here: a process on a Postgres server holds none of PGlite's modules.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ClientPgLite = require('knex-pglite') as typeof import('knex-pglite');
  return knexFactory({
    client: ClientPgLite,
    dialect: 'postgres',
    connection: { filename: config.PGLITE_DIR },
  } as Knex.Config);
}

/**
 * A statement of the delivery path (ingest, an attempt), run as a **named prepared statement**:
 * each pooled connection has Postgres parse and plan its text once and then reuse it (a generic
 * plan, once Postgres finds one as good as its custom plans), where an unnamed statement is parsed
 * and planned on every call. Measured on 2026-12-02 with `pg_stat_statements`: planning took more
 * of Postgres's time than executing for the five statements of a delivery (2.6 against 2.4 ms).
 *
 * Only for statements whose text takes a few variants: each variant stays prepared on every
 * connection for the connection's life. The name is the text's hash, so two texts never share one.
 * Unnamed where the database cannot keep them (`DATABASE_PREPARED_STATEMENTS=false`) and on the
 * embedded database, which runs in-process.
 */
export function hotStatement(db: Db, sql: string, bindings: readonly Knex.RawBinding[]): Knex.Raw {
  const query = db.raw(sql, bindings);
  const config = db.client.config as Record<string, unknown>;
  return config.client === 'pg' && config[PREPARED] === true ? query.options({ name: statementName(sql) }) : query;
}

/** Brings the schema up to date and makes sure the default tenant exists. */
export async function migrate(db: Db, defaultTenantId: string): Promise<void> {
  await db.migrate.latest({ migrationSource });
  await db('tenants')
    .insert({ id: defaultTenantId, name: defaultTenantId })
    .onConflict('id')
    .ignore();
}

/** Node socket errors and Postgres SQLSTATEs that mean "the database is not there right now". */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  '57P01', // admin_shutdown: the server is stopping or restarting
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, shutting down, in recovery
  '53300', // too_many_connections
]);
/** What pg and knex say when a connection dies or cannot be had; they carry no code. */
const CONNECTION_MESSAGES = /Connection terminated|connection error and is not queryable|not queryable|timeout exceeded when trying to connect|Timeout acquiring a connection/i;

/**
 * True when the database could not be reached or dropped the connection (refused, restarted, in
 * recovery, pool exhausted), as opposed to a query it refused: the API answers 503, not 500.
 * Looks through `cause` and AggregateError's `errors` (a name resolving to several addresses).
 */
export function isConnectionError(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  const e = err as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (e.name === 'KnexTimeoutError') return true;
  if (typeof e.code === 'string' && (CONNECTION_CODES.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code))) return true;
  if (typeof e.message === 'string' && CONNECTION_MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isConnectionError(inner, depth + 1))) return true;
  return isConnectionError(e.cause, depth + 1);
}

/** True when the error is a Postgres unique violation. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}
