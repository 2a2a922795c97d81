import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import net from 'node:net';
import { findFreePort } from '../ports';
import { dynamicConfigEntries } from '../server-tuning';
import { postgresTarget, type ClusterDatabases } from './databases';

/** The ports one server process listens on (all four services run in it). */
export interface ClusterPorts {
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  membership: { frontend: number; history: number; matching: number; worker: number };
}

/** Resolves whether `port` can be bound on `host` now. */
function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A free port below 32768: the server stores membership ports in a `smallint` column, and the
 * ports the OS hands out (its ephemeral range) lie above.
 */
async function freeMembershipPort(host: string, taken: Set<number>): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (!taken.has(port) && (await canBind(host, port))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error(`no free port between 20000 and 32000 on ${host} for the Temporal membership ring`);
}

/** `frontend` as given (0: a free port); every other port a free one (membership ports below 32768). */
export async function pickClusterPorts(ip: string, frontend: number): Promise<ClusterPorts> {
  const free = () => findFreePort(ip);
  const taken = new Set<number>();
  const member = () => freeMembershipPort(ip, taken);
  return {
    frontend: frontend === 0 ? await free() : frontend,
    frontendHttp: await free(),
    history: await free(),
    matching: await free(),
    worker: await free(),
    membership: { frontend: await member(), history: await member(), matching: await member(), worker: await member() },
  };
}

export interface ClusterConfigIn {
  ip: string;
  ports: ClusterPorts;
  databases: ClusterDatabases;
  /** History shards: fixed when the databases are first used, can never change after. */
  shards: number;
  /** Connections each store may open (the main store's pool; visibility gets half). */
  maxConns: number;
}

/** The environment name the server loads: `<config dir>/<env>.yaml`. */
export const CLUSTER_CONFIG_ENV = 'cluster';

/** Dynamic config: what this project's tests and deployments rely on, and the latency tuning every server it runs gets. */
const DYNAMIC_CONFIG = {
  // Search attributes registered a moment ago are known to every frontend call at once.
  'system.forceSearchAttributesCacheRefreshOnRead': [{ value: true, constraints: {} }],
  ...dynamicConfigEntries(),
};

/**
 * The server's static config (Temporal's `development-postgres12.yaml`, trimmed): one process,
 * Postgres for both stores, SQL visibility, no archival, no metrics listener. Written as JSON,
 * which the server's YAML loader reads as it is.
 */
export function clusterConfig(input: ClusterConfigIn, dynamicConfigFile: string): Record<string, unknown> {
  const pg = postgresTarget(input.databases.adminUrl);
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${pg.host.includes(':') ? `[${pg.host}]` : pg.host}:${pg.port}`,
      connectProtocol: 'tcp',
      user: pg.user,
      password: pg.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const { ports, ip } = input;
  const service = (grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}) => ({
    rpc: { grpcPort, membershipPort, bindOnIP: ip, ...extra },
  });
  return {
    log: { stdout: true, level: 'warn', format: 'json' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: input.shards,
      datastores: {
        'postgres-default': store(input.databases.main, input.maxConns),
        'postgres-visibility': store(input.databases.visibility, Math.max(2, Math.ceil(input.maxConns / 2))),
      },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: ip } },
    services: {
      frontend: service(ports.frontend, ports.membership.frontend, { httpPort: ports.frontendHttp }),
      history: service(ports.history, ports.membership.history),
      matching: service(ports.matching, ports.membership.matching),
      worker: service(ports.worker, ports.membership.worker),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `${ip}:${ports.frontend}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
}

/**
 * Writes the static and dynamic config into `dir` (created; files readable by this user only,
 * since the static config holds the database password). Answers the server's `--config` folder.
 */
export async function writeClusterConfig(dir: string, input: ClusterConfigIn): Promise<string> {
  const configDir = path.join(path.resolve(dir), 'config');
  await mkdir(configDir, { recursive: true });
  const dynamicFile = path.join(configDir, 'dynamic.yaml');
  await writeFile(dynamicFile, `${JSON.stringify(DYNAMIC_CONFIG, null, 2)}\n`, { mode: 0o600 });
  await writeFile(path.join(configDir, `${CLUSTER_CONFIG_ENV}.yaml`), `${JSON.stringify(clusterConfig(input, dynamicFile), null, 2)}\n`, { mode: 0o600 });
  return configDir;
}
