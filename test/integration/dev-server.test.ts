import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { commandLine, findTemporalServerPid } from '../../scripts/bench/procs';
import { createLogger } from '../../src/logger';
import type { RunningTemporal } from '../../src/dev/running-temporal';
import { DEV_SERVER_DYNAMIC_CONFIG, LATENCY_DYNAMIC_CONFIG, SERVER_TIMER_SLACK_NS } from '../../src/dev/server-tuning';
import { findFreePort } from '../../src/dev/ports';
import { startTemporalDevServer } from '../../src/dev/temporal-dev-server';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes';

jest.setTimeout(60_000);

const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', 'dev-server-test');
const KEYWORD = 2; // temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD

/** Listens on a port so the dev server finds it taken. */
function occupy(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function withConnection<T>(address: string, fn: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address });
  try {
    return await fn(connection);
  } finally {
    await connection.close();
  }
}

async function customSearchAttributes(address: string): Promise<Record<string, number>> {
  return withConnection(address, async (connection) => {
    const res = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    return Object.fromEntries(Object.entries(res.customAttributes ?? {}).map(([k, v]) => [k, Number(v)]));
  });
}

const expectedAttributes = Object.fromEntries(SEARCH_ATTRIBUTES.map((key) => [key.name, KEYWORD]));

/** A logger that keeps the `added` of each restart it is told of (the dev server's second start). */
const lines: Array<{ msg?: string; added?: string[] }> = [];
const watched = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg?: string; added?: string[] }) });
const restarts = () => lines.filter((l) => l.msg?.startsWith('restarting the Temporal dev server')).map((l) => l.added);

describe('when the dev server starts on a new SQLite file', () => {
  let dir: string;
  let server: RunningTemporal | undefined;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-dev-test-'));
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('then the five search attributes exist, the UI answers, the store writes ahead, and after a restart on the same file they still exist', async () => {
    const dbFile = path.join(dir, 'nested', 'temporal.sqlite');
    const port = await findFreePort();
    const uiPort = await findFreePort();

    server = await startTemporalDevServer({ port, uiPort, dbFile, namespace: 'default', log: watched });
    expect(server.address).toBe(`127.0.0.1:${port}`);
    expect(server.uiUrl).toBe(`http://127.0.0.1:${uiPort}`);
    expect(await customSearchAttributes(server.address)).toMatchObject(expectedAttributes);
    const ui = await fetch(server.uiUrl!);
    expect(ui.status).toBe(200);
    // The file store runs with write-ahead logging (SQLITE_PRAGMAS): its -wal file is there.
    expect(existsSync(`${dbFile}-wal`)).toBe(true);
    // And with the latency tuning (a shard's task reads not held to 20 a second), and the search
    // attributes' cache on (the CLI turns it off).
    const pid = findTemporalServerPid(port) ?? -1;
    const args = commandLine(pid);
    for (const [key, value] of Object.entries({ ...LATENCY_DYNAMIC_CONFIG, ...DEV_SERVER_DYNAMIC_CONFIG })) {
      expect(args[args.indexOf(`${key}=${value}`) - 1]).toBe('--dynamic-config-value');
    }
    expect(args).toContain('system.forceSearchAttributesCacheRefreshOnRead=false');
    // It runs with 1 ms of timer slack (its threads inherit it), not the kernel's 50 µs.
    expect(Number(readFileSync(`/proc/${pid}/timerslack_ns`, 'utf8'))).toBe(SERVER_TIMER_SLACK_NS);
    // Its attributes came with the namespace: nothing registered, no second start.
    expect(restarts()).toEqual([]);

    // Simulate a file made before an attribute was added to the project: drop one.
    await withConnection(server.address, (connection) =>
      connection.operatorService.removeSearchAttributes({ namespace: 'default', searchAttributes: ['EventId'] }),
    );
    expect(await customSearchAttributes(server.address)).not.toHaveProperty('EventId');
    await server.stop();
    server = undefined;

    // Stopped means gone: the port can be bound again.
    await (await occupy(port)).close();

    server = await startTemporalDevServer({ port, uiPort: null, dbFile, namespace: 'default', log: watched });
    expect(server.uiUrl).toBeNull();
    expect(await customSearchAttributes(server.address)).toMatchObject(expectedAttributes);
    // Registering the missing one made the server start once more, so that every one of its
    // services reads the attributes anew: a workflow may carry it at once. (Without the second
    // start the cached attributes lacked it for up to a minute: "no mapping defined for search
    // attribute EventId".)
    expect(restarts()).toEqual([['EventId']]);
    const eventId = SEARCH_ATTRIBUTES.find((key) => key.name === 'EventId')!;
    await withConnection(server.address, async (connection) => {
      const client = new Client({ connection });
      const handle = await client.workflow.start('anyWorkflow', { taskQueue: 'no-worker', workflowId: 'carries-event-id', typedSearchAttributes: [{ key: eventId, value: 'evt_1' }] });
      expect((await handle.describe()).typedSearchAttributes.get(eventId)).toBe('evt_1');
      await handle.terminate();
    });
  });
});

describe('when the gRPC port is already in use', () => {
  it('then starting rejects with a message naming the port and TEMPORAL_DEV_PORT', async () => {
    const port = await findFreePort();
    const blocker = await occupy(port);
    try {
      await expect(startTemporalDevServer({ port, uiPort: null, namespace: 'default', log })).rejects.toThrow(
        new RegExp(`gRPC port ${port} on 127\\.0\\.0\\.1 is already in use.*TEMPORAL_ADDRESS.*TEMPORAL_DEV_PORT`),
      );
    } finally {
      blocker.close();
    }
  });
});

describe('when the Web UI port is already in use', () => {
  it('then starting rejects with a message naming the port and TEMPORAL_UI_PORT', async () => {
    const port = await findFreePort();
    const uiPort = await findFreePort();
    const blocker = await occupy(uiPort);
    try {
      await expect(startTemporalDevServer({ port, uiPort, namespace: 'default', log })).rejects.toThrow(
        new RegExp(`Web UI port ${uiPort} on 127\\.0\\.0\\.1 is already in use.*TEMPORAL_UI_PORT`),
      );
    } finally {
      blocker.close();
    }
  });
});
