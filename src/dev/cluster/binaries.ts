import path from 'node:path';
import type { Logger } from '../../logger';
import { findUsableGo, goInstall, TOOLS_BIN_DIR } from '../go-tools';
import { isExecutable } from '../processes';

/**
 * The Temporal server release the project runs in production shape: `npm run cluster` builds it,
 * `docker-compose.yml` pins the same images (a unit test keeps the two equal).
 */
export const TEMPORAL_SERVER_VERSION = '1.29.1';

/** Go packages of the server and of its SQL schema tool (the same module). */
export const TEMPORAL_SERVER_PACKAGE = 'go.temporal.io/server/cmd/server';
export const TEMPORAL_SQL_TOOL_PACKAGE = 'go.temporal.io/server/cmd/tools/sql';

/** Folder of the built binaries, one per version: `server` and `sql` (the packages' last path elements). */
export const CLUSTER_BIN_DIR = path.join(TOOLS_BIN_DIR, `temporal-server-v${TEMPORAL_SERVER_VERSION}`);

export interface ClusterBinaries {
  /** `temporal-server`: frontend, history, matching and worker services in one process. */
  server: string;
  /** `temporal-sql-tool`: creates and migrates the databases. */
  sqlTool: string;
}

/**
 * The server and schema tool binaries: reused from {@link CLUSTER_BIN_DIR} when present, otherwise
 * built there with `go install` (GOTOOLCHAIN=local; about 4–5 minutes on two cores, once).
 *
 * @throws Error when they are missing and no Go ≥ 1.25 can build them, or the build fails.
 */
export async function findOrBuildClusterBinaries(log: Logger): Promise<ClusterBinaries> {
  const binaries: ClusterBinaries = { server: path.join(CLUSTER_BIN_DIR, 'server'), sqlTool: path.join(CLUSTER_BIN_DIR, 'sql') };
  const specs = [
    { module: TEMPORAL_SERVER_PACKAGE, binary: 'server', target: binaries.server, what: 'the Temporal server' },
    { module: TEMPORAL_SQL_TOOL_PACKAGE, binary: 'sql', target: binaries.sqlTool, what: 'the Temporal SQL schema tool' },
  ];
  for (const spec of specs) {
    if (await isExecutable(spec.target)) {
      log.debug({ binary: spec.target }, `using the built ${spec.what}`);
      continue;
    }
    const go = await findUsableGo(log);
    if (!go) throw new Error(`${spec.target} is missing and there is no Go >= 1.25 to build it (go install ${spec.module}@v${TEMPORAL_SERVER_VERSION})`);
    await goInstall({ go, module: spec.module, version: `v${TEMPORAL_SERVER_VERSION}`, binary: spec.binary, binDir: CLUSTER_BIN_DIR, ldflags: '-s -w', what: spec.what }, log);
  }
  return binaries;
}
