import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TEMPORAL_SERVER_VERSION } from '../../src/dev/cluster/binaries';
import { clusterDatabases } from '../../src/dev/cluster/cluster';
import { postgresTarget } from '../../src/dev/cluster/databases';
import { clusterConfig, type ClusterPorts } from '../../src/dev/cluster/server-config';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes';

const compose = readFileSync(path.resolve(__dirname, '../../docker-compose.yml'), 'utf8');

describe('when docker-compose.yml pins Temporal images', () => {
  it('then every server and admin-tools image is the version npm run cluster builds', () => {
    const tags = [...compose.matchAll(/image:\s*temporalio\/(server|admin-tools|auto-setup):(\S+)/g)].map((m) => [m[1], m[2]]);
    expect(tags.map(([name]) => name).sort()).toEqual(['admin-tools', 'admin-tools', 'server']);
    for (const [, tag] of tags) expect(tag === TEMPORAL_SERVER_VERSION || tag!.startsWith(`${TEMPORAL_SERVER_VERSION}-`)).toBe(true);
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

  it('then a URL without user or port means postgres on 5432', () => {
    expect(postgresTarget('postgres://127.0.0.1/postgres')).toEqual({ host: '127.0.0.1', port: 5432, user: 'postgres', password: '', maintenanceDb: 'postgres' });
    expect(() => postgresTarget('mysql://x')).toThrow(/postgres/);
  });
});
