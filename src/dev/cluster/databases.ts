import { Client as PgClient } from 'pg';
import type { Logger } from '../../logger';
import { run } from '../processes';

/** Where the cluster keeps its state: a Postgres server and the names of its two databases. */
export interface ClusterDatabases {
  /** An admin connection URL of the server, e.g. `postgres://postgres@127.0.0.1:5432/postgres`. */
  adminUrl: string;
  /** Main store (workflows, shards, task queues). */
  main: string;
  /** SQL visibility store (workflow lists, search attributes). */
  visibility: string;
}

/** The parts of the admin URL the schema tool and the server config take. */
export function postgresTarget(adminUrl: string): { host: string; port: number; user: string; password: string; maintenanceDb: string } {
  const url = new URL(adminUrl);
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new Error(`not a postgres:// URL: ${url.protocol}//…`);
  return {
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username) || 'postgres',
    password: decodeURIComponent(url.password),
    maintenanceDb: url.pathname.replace(/^\//, '') || 'postgres',
  };
}

/** Embedded schemas of the tool, the same ones the module ships under `schema/postgresql/v12`. */
const SCHEMA_NAMES = { main: 'postgresql/v12/temporal', visibility: 'postgresql/v12/visibility' } as const;

async function withAdmin<T>(adminUrl: string, database: string | null, work: (pg: PgClient) => Promise<T>): Promise<T> {
  const url = new URL(adminUrl);
  if (database !== null) url.pathname = `/${database}`;
  const pg = new PgClient({ connectionString: url.toString() });
  await pg.connect();
  try {
    return await work(pg);
  } finally {
    await pg.end();
  }
}

async function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  return withAdmin(adminUrl, null, async (pg) => (await pg.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1);
}

async function hasSchemaVersion(adminUrl: string, name: string): Promise<boolean> {
  return withAdmin(adminUrl, name, async (pg) => (await pg.query("select to_regclass('public.schema_version') is not null as present")).rows[0]?.present === true);
}

/**
 * Creates the two databases when missing and brings their schemas to the tool's latest version,
 * the way Temporal's own setup does it: `create-database` and `setup-schema -v 0.0` only for a
 * database without a schema, `update-schema` always (a no-op when current). Safe to run again.
 */
export async function ensureClusterDatabases(sqlTool: string, dbs: ClusterDatabases, log: Logger): Promise<void> {
  const pg = postgresTarget(dbs.adminUrl);
  const base = ['--plugin', 'postgres12', '--ep', pg.host, '--port', String(pg.port), '--user', pg.user];
  // The password goes through the environment, not the command line (visible in `ps`).
  const env = { ...process.env, SQL_PASSWORD: pg.password };
  const tool = async (database: string, args: string[]): Promise<void> => {
    const result = await run(sqlTool, [...base, '--db', database, ...args], env);
    if (result.code !== 0) throw new Error(`temporal-sql-tool ${args[0]} on ${database} failed (exit ${result.code ?? result.signal}):\n${result.output.toString()}`);
  };
  for (const kind of ['main', 'visibility'] as const) {
    const name = dbs[kind];
    if (!(await databaseExists(dbs.adminUrl, name))) {
      log.info({ database: name }, 'creating a Temporal database');
      await tool(name, ['create-database', '--defaultdb', pg.maintenanceDb]);
    }
    if (!(await hasSchemaVersion(dbs.adminUrl, name))) {
      log.info({ database: name }, 'setting up its schema');
      await tool(name, ['setup-schema', '--version', '0.0']);
    }
    await tool(name, ['update-schema', '--schema-name', SCHEMA_NAMES[kind]]);
    log.debug({ database: name }, 'Temporal schema up to date');
  }
}

/** Drops the two databases (tests' own clusters), ending their sessions first. */
export async function dropClusterDatabases(dbs: ClusterDatabases): Promise<void> {
  await withAdmin(dbs.adminUrl, null, async (pg) => {
    for (const name of [dbs.main, dbs.visibility]) await pg.query(`drop database if exists "${name.replace(/"/g, '""')}" with (force)`);
  });
}
