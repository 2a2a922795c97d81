import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './api/app';
import type { Config } from './config';
import { resolveApiToken, resolveMasterKey } from './dev-secrets';
import { migrate, openDatabase, type Db } from './db/knex';
import type { Logger } from './logger';
import { SecretBox } from './security/secret-box';
import type { AppDeps } from './services/deps';

/** Address of Temporal when no dev server is started by this process. */
export function configuredTemporalAddress(config: Config): string {
  return config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_DEV_PORT}`;
}

/** Opens and migrates the database and builds the secret box. */
export async function openStorage(config: Config, log: Logger): Promise<{ db: Db; box: SecretBox }> {
  const db = openDatabase(config, log);
  await migrate(db, config.DEFAULT_TENANT_ID);
  return { db, box: new SecretBox(resolveMasterKey(config, log)) };
}

/** Starts the HTTP API on HOST:PORT (PORT 0 picks a free port). */
export async function startApi(deps: AppDeps): Promise<{ server: Server; url: string }> {
  const app = createApp(deps, resolveApiToken(deps.config, deps.log));
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(deps.config.PORT, deps.config.HOST, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  const host = deps.config.HOST === '0.0.0.0' ? '127.0.0.1' : deps.config.HOST;
  return { server, url: `http://${host}:${port}` };
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Runs `cleanup` once on SIGINT/SIGTERM, then exits; a second signal exits at once. */
export function onShutdown(log: Logger, cleanup: () => Promise<void>): void {
  let stopping = false;
  const handle = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'shutting down');
    cleanup()
      .then(() => process.exit(0))
      .catch((err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => handle('SIGINT'));
  process.on('SIGTERM', () => handle('SIGTERM'));
}
