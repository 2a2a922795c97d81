import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { compiledEntry } from '../../src/dev/build';
import { TEMPORAL_SERVER_VERSION } from '../../src/dev/cluster/binaries';
import { clusterDatabases } from '../../src/dev/cluster/cluster';
import { postgresTarget } from '../../src/dev/cluster/databases';
import { clusterConfig, writeClusterConfig, type ClusterPorts } from '../../src/dev/cluster/server-config';
import { LATENCY_DYNAMIC_CONFIG, SERVER_TIMER_SLACK_NS } from '../../src/dev/server-tuning';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes';
import { DEPLOYED_PROCESS_ENV } from '../../scripts/bench/procs';

const compose = readFileSync(path.resolve(__dirname, '../../docker-compose.yml'), 'utf8');
const dockerfile = readFileSync(path.resolve(__dirname, '../../Dockerfile'), 'utf8');

describe('when docker-compose.yml pins Temporal images', () => {
  it('then every server and admin-tools image is the version npm run cluster builds', () => {
    const tags = [...compose.matchAll(/image:\s*temporalio\/(server|admin-tools|auto-setup):(\S+)/g)].map((m) => [m[1], m[2]]);
    expect(tags.map(([name]) => name).sort()).toEqual(['admin-tools', 'admin-tools', 'server']);
    for (const [, tag] of tags) expect(tag === TEMPORAL_SERVER_VERSION || tag!.startsWith(`${TEMPORAL_SERVER_VERSION}-`)).toBe(true);
  });

  it('then its Temporal server reads the latency tuning npm run cluster and the dev server get', () => {
    const mount = /-\s*\.\/(deploy\/temporal\/[\w.-]+\.yaml):(\S+?)(?::ro)?\s*$/m.exec(compose);
    expect(mount).not.toBeNull();
    expect(compose).toContain(`DYNAMIC_CONFIG_FILE_PATH: ${mount![2]}`);
    const file = readFileSync(path.resolve(__dirname, '../..', mount![1]!), 'utf8');
    const keys = [...file.matchAll(/^([\w.]+):\s*$/gm)].map((m) => m[1]);
    expect(keys.sort()).toEqual(Object.keys(LATENCY_DYNAMIC_CONFIG).sort());
    for (const [key, value] of Object.entries(LATENCY_DYNAMIC_CONFIG)) {
      expect(file).toMatch(new RegExp(String.raw`^${key.replace(/\./g, '\\.')}:\s*\n\s*- value: ${value}\s*$`, 'm'));
    }
  });

  it('then its Temporal server starts with the timer slack npm run cluster and the dev server get, then runs the image\'s own entrypoint', () => {
    const entry = /^ {2}temporal:\n(?: {4}.*\n)*? {4}entrypoint: (\[.*\])$/m.exec(compose);
    expect(entry).not.toBeNull();
    const [shell, flag, script] = JSON.parse(entry![1]!) as string[];
    expect([shell, flag]).toEqual(['/bin/sh', '-c']);
    expect(script).toBe(`echo ${SERVER_TIMER_SLACK_NS} 2>/dev/null > /proc/self/timerslack_ns; exec /etc/temporal/entrypoint.sh`);
  });

  it('then the API and the worker run the compiled entry points that npm run build emits, as the Dockerfile builds them', () => {
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    const build = JSON.parse(readFileSync(path.resolve(__dirname, '../../tsconfig.build.json'), 'utf8')) as { include: string[] };
    const commands = [...compose.matchAll(/^ {4}command: \["node", "(dist\/[\w/.-]+)"\]$/gm)].map((m) => m[1]!);
    expect(commands.sort()).toEqual(['dist/src/server.js', 'dist/src/worker.js']);
    expect(/^CMD \["node", "(\S+)"\]$/m.exec(dockerfile)?.[1]).toBe('dist/src/server.js');
    for (const entry of commands) {
      const source = entry.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect(existsSync(path.resolve(__dirname, '../..', source))).toBe(true);
      expect(build.include).toContain(source.split('/')[0]);
      expect(compiledEntry(source)).toBe(entry);
    }
  });

  it('then the image, the npm start scripts and the bench give every Node process the same process environment', () => {
    const scripts = (JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(Object.keys(DEPLOYED_PROCESS_ENV)).toEqual(['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_']);
    for (const [name, value] of Object.entries(DEPLOYED_PROCESS_ENV)) {
      // One ENV instruction, its lines continued with backslashes.
      expect(dockerfile).toMatch(new RegExp(String.raw`^ENV (?:[^\n]*\\\n)*\s*${name}=${value}\s*\\?$`, 'm'));
      for (const script of ['start', 'start:api', 'start:worker']) expect(scripts[script]).toMatch(new RegExp(String.raw`^(?:\w+=\S+ )*${name}=\$\{${name}:-${value}\} `));
    }
  });

  it('then its setup job registers exactly the search attributes the service uses', () => {
    const line = /for name in ([A-Za-z ]+); do/.exec(compose);
    expect(line?.[1]?.trim().split(/\s+/).sort()).toEqual(SEARCH_ATTRIBUTES.map((key) => key.name).sort());
  });
});

describe('when the cluster config is rendered', () => {
  const ports: ClusterPorts = { frontend: 7233, frontendHttp: 7243, history: 7234, matching: 7235, worker: 7239, membership: { frontend: 6933, history: 6934, matching: 6935, worker: 6939 } };
  const config = clusterConfig(
    { ip: '127.0.0.1', ports, databases: clusterDatabases('postgres://temporal:s%40cret@db.local:5433/postgres', 'temporal_x'), shards: 8, maxConns: 20 },
    '/tmp/dynamic.yaml',
  ) as any;

  it('then both stores are Postgres with the given databases, shards and credentials', () => {
    expect(config.persistence.numHistoryShards).toBe(8);
    expect(config.persistence.datastores['postgres-default'].sql).toMatchObject({ pluginName: 'postgres12', databaseName: 'temporal_x', connectAddr: 'db.local:5433', user: 'temporal', password: 's@cret' });
    expect(config.persistence.datastores['postgres-visibility'].sql).toMatchObject({ databaseName: 'temporal_x_visibility', maxConns: 10 });
    expect(config.services.frontend.rpc).toMatchObject({ grpcPort: 7233, httpPort: 7243, bindOnIP: '127.0.0.1' });
    expect(config.clusterMetadata.clusterInformation.active.rpcAddress).toBe('127.0.0.1:7233');
  });

  it('then its dynamic config file carries the latency tuning', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cluster-config-'));
    try {
      const configDir = await writeClusterConfig(dir, { ip: '127.0.0.1', ports, databases: clusterDatabases('postgres://127.0.0.1/postgres', 'temporal_x'), shards: 4, maxConns: 20 });
      const dynamic = JSON.parse(await readFile(path.join(configDir, 'dynamic.yaml'), 'utf8'));
      for (const [key, value] of Object.entries(LATENCY_DYNAMIC_CONFIG)) expect(dynamic[key]).toEqual([{ value, constraints: {} }]);
      expect(dynamic['system.forceSearchAttributesCacheRefreshOnRead']).toEqual([{ value: true, constraints: {} }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('then a URL without user or port means postgres on 5432', () => {
    expect(postgresTarget('postgres://127.0.0.1/postgres')).toEqual({ host: '127.0.0.1', port: 5432, user: 'postgres', password: '', maintenanceDb: 'postgres' });
    expect(() => postgresTarget('mysql://x')).toThrow(/postgres/);
  });
});
