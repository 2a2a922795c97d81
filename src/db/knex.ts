import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import { Pool, type QueryResult } from 'pg';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { migrationSource } from './migrations';

export type Db = Knex;

/** The knex config key that turns {@link hotStatement}'s named statements on (a Postgres server only). */
const PREPARED = 'preparedStatements';
/** A prepared statement's name: its text's hash, so two texts never share one. */
const statementName = (sql: string) => `hot_${createHash('sha256').update(sql).digest('hex').slice(0, 32)}`;

/** The connection pool of a Postgres server database, which knex runs on and {@link hotStatement} queries directly. */
const serverPools = new WeakMap<Knex, { pool: Pool; prepared: boolean }>();
/** Knex's default wait for a pooled connection, kept: past it the caller gets a connection error (503). */
const CONNECT_TIMEOUT_MS = 60_000;
/** A pooled connection unused this long is closed (tarn's default, which knex used before). */
const IDLE_TIMEOUT_MS = 30_000;

/**
 * Opens the database: the Postgres server at DATABASE_URL when set, otherwise an embedded
 * Postgres (PGlite) stored under PGLITE_DIR. Both run the same migrations.
 */
export function openDatabase(config: Config, log: Logger): Db {
  if (config.DATABASE_URL) {
    log.debug('using postgres server');
    const dbLog = log.child({ component: 'knex' });
    const pool = serverPool(config, dbLog);
    const db = knexFactory({
      client: 'pg',
      // One pg pool for knex and the hot statements alike: DATABASE_POOL_MAX bounds both together.
      connectionPool: pool,
      [PREPARED]: config.DATABASE_PREPARED_STATEMENTS,
      // knex writes to the console by default; its notes belong in the process log.
      log: {
        warn: (message: unknown) => dbLog.warn(String(message)),
        error: (message: unknown) => dbLog.error(String(message)),
        deprecate: (method: string, alternative: string) => dbLog.warn(`${method} is deprecated, use ${alternative}`),
        debug: (message: unknown) => dbLog.debug({ message }, 'knex debug'),
      },
    } as Knex.Config);
    serverPools.set(db, { pool, prepared: config.DATABASE_PREPARED_STATEMENTS });
    // Knex does not end a pool it was given; destroying the database ends it (once), as before.
    const destroyKnex = db.destroy.bind(db) as () => Promise<void>;
    let ended: Promise<void> | undefined;
    Object.defineProperty(db, 'destroy', {
      configurable: true,
      value: async (callback?: (err?: unknown) => void) => {
        try {
          await destroyKnex();
          ended ??= pool.end();
          await ended;
        } catch (err) {
          if (!callback) throw err;
          return callback(err);
        }
        callback?.();
      },
    });
    return db;
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
 * The pg pool of a Postgres server database. A connection that fails while knex holds it must
 * not take the process down with an unhandled `error` event: the statement in flight fails with
 * the error, and the pool drops the connection when it is released. One that fails while idle
 * is dropped by the pool.
 */
function serverPool(config: Config, dbLog: Logger): Pool {
  const pool = new Pool({
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_MAX,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
  });
  pool.on('connect', (client) => client.on('error', (err) => dbLog.debug({ err }, 'a database connection failed in use')));
  pool.on('error', (err) => dbLog.warn({ err }, 'an idle database connection failed; the pool drops it'));
  return pool;
}

/**
 * A hot statement's texts, one per variant, each built once: every call then passes the same
 * string, which costs neither building it again nor hashing it again where it is looked up
 * ({@link hotStatement} keeps its positioned texts here too, keyed by the text). For texts that
 * take a few variants only, as hot statements must.
 */
export class StatementTexts<Text = string> {
  private readonly texts = new Map<string, Text>();

  /** The text of `variant`, built by `build` the first time it is asked for. */
  of(variant: string, build: () => Text): Text {
    let text = this.texts.get(variant);
    if (text === undefined) {
      text = build();
      this.texts.set(variant, text);
    }
    return text;
  }
}

/** A hot statement's text as pg takes it (`$1`, `$2`… for knex's `?`; `\\?` a literal `?`) and its prepared name. */
interface PositionedStatement {
  text: string;
  name: string;
}
const positioned = new StatementTexts<PositionedStatement>();

function positionedStatement(sql: string): PositionedStatement {
  return positioned.of(sql, () => {
    let n = 0;
    return { text: sql.replace(/\\\?|\?/g, (match) => (match === '?' ? `$${++n}` : '?')), name: statementName(sql) };
  });
}

/**
 * A statement of the delivery path (ingest, an attempt, the API key lookup), run as a **named
 * prepared statement**: each pooled connection has Postgres parse and plan its text once and then
 * reuse it (a generic plan, once Postgres finds one as good as its custom plans), where an unnamed
 * statement is parsed and planned on every call. Measured on 2026-12-02 with `pg_stat_statements`:
 * planning took more of Postgres's time than executing for the five statements of a delivery (2.6
 * against 2.4 ms).
 *
 * On a Postgres server it goes straight to the pool knex runs on, past knex's query machinery
 * (about 40–50 µs of client CPU per statement, measured 2026-12-05), and is counted as knex's own
 * statements are (its `query` event). In a transaction, and on the embedded database, it runs
 * through knex.
 *
 * Only for statements whose text takes a few variants: each variant stays prepared on every
 * connection for the connection's life, and its positioned text stays in this process. The name is
 * the text's hash, so two texts never share one. Unnamed where the database cannot keep them
 * (`DATABASE_PREPARED_STATEMENTS=false`).
 */
export async function hotStatement<Row = Record<string, unknown>>(db: Db, sql: string, bindings: readonly Knex.RawBinding[]): Promise<{ rows: Row[] }> {
  const server = serverPools.get(db);
  if (!server) {
    const query = db.raw(sql, bindings);
    const config = db.client.config as Record<string, unknown>;
    const named = config.client === 'pg' && config[PREPARED] === true;
    return (await (named ? query.options({ name: positionedStatement(sql).name }) : query)) as { rows: Row[] };
  }
  const missing = bindings.findIndex((b) => b === undefined);
  if (missing !== -1) throw new Error(`undefined binding at position ${missing + 1} of a hot statement: ${sql}`);
  const { text, name } = positionedStatement(sql);
  db.emit('query', { method: 'raw', sql });
  const result: QueryResult = await server.pool.query({ text, values: bindings as unknown[], ...(server.prepared ? { name } : {}) });
  return result as unknown as { rows: Row[] };
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
