import path from 'node:path';
import { PROJECT_ROOT } from '../config';
import type { Logger } from '../logger';
import { ensureSearchAttributes } from '../temporal/register-search-attributes';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes';
import { hostForUrl } from './ports';
import type { RunningTemporal } from './running-temporal';
import { devServerDynamicConfigArgs } from './server-tuning';

/** Last resort when there is no CLI and no Go: the SDK downloads the CLI (machines with internet only). */
export async function startWithSdkDownload(opts: {
  ip: string;
  port: number;
  uiPort: number | null;
  dbFile: string | undefined;
  namespace: string;
  log: Logger;
}): Promise<RunningTemporal> {
  const { ip, port, uiPort, dbFile, namespace, log } = opts;
  log.warn('falling back to the Temporal SDK downloading the CLI (needs the internet)');
  // Loaded lazily: @temporalio/testing is a dev dependency and only needed here.
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const started = Date.now();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'cached-download', downloadDir: path.join(PROJECT_ROOT, '.tools', 'sdk-download') },
      ip,
      port,
      ui: uiPort !== null,
      ...(uiPort !== null ? { uiPort } : {}),
      ...(dbFile ? { dbFilename: path.resolve(dbFile) } : {}),
      namespace,
      searchAttributes: [...SEARCH_ATTRIBUTES],
      log: { format: 'pretty', level: 'warn' },
      extraArgs: devServerDynamicConfigArgs(),
    },
  });
  try {
    await ensureSearchAttributes(env.connection, namespace, log);
  } catch (err) {
    await env.teardown();
    throw err;
  }
  const address = env.address;
  const uiUrl = uiPort === null ? null : `http://${hostForUrl(ip)}:${uiPort}`;
  log.info({ address, uiUrl, namespace, startupMs: Date.now() - started }, 'Temporal dev server (SDK download) ready');
  let stopped: Promise<void> | undefined;
  return { address, uiUrl, stop: () => (stopped ??= env.teardown()) };
}
