/**
 * `npm run screenshots:operators`: the Temporal Web UI as an operator sees deliveries, in
 * headless Chromium, saved to docs/operators/. Starts everything it needs and removes it after: a
 * Temporal dev server with its UI (payloads decoded through the API's codec endpoint), a
 * throwaway database on the local Postgres, the API and a worker, and a receiver that accepts
 * one endpoint's deliveries and refuses another's.
 *
 * Needs Debian's `chromium` (CHROMIUM_PATH to use another binary).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import knexFactory from 'knex';
import { chromium } from 'playwright-core';
import { startApi } from '../src/api/start-api';
import { closeServer } from '../src/bootstrap';
import { loadConfig, PROJECT_ROOT } from '../src/config';
import { findFreePort } from '../src/dev/ports';
import { startTemporalDevServer } from '../src/dev/temporal-dev-server';
import { migrate, openDatabase } from '../src/db/knex';
import { createLogger } from '../src/logger';
import { parseMasterKey, SecretBox } from '../src/security/secret-box';
import { connectClient } from '../src/temporal/client';
import { createWorker, stopWorker } from '../src/temporal/worker';

const OUT = path.join(PROJECT_ROOT, 'docs', 'operators');
const TOKEN = `screenshots-${randomBytes(16).toString('hex')}`;
const MASTER_KEY = randomBytes(32).toString('hex');
const CODEC_KEY = randomBytes(32).toString('hex');

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

async function main(): Promise<void> {
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn', 'screenshots');
  const undo: Array<() => Promise<unknown>> = [];
  try {
    const apiPort = await findFreePort();
    const uiPort = await findFreePort();
    const temporal = await startTemporalDevServer({ port: 0, uiPort, namespace: 'default', log, uiCodecEndpoint: `http://127.0.0.1:${apiPort}/codec` });
    undo.push(() => temporal.stop());

    const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const name = `webhooks_screens_${process.pid}`;
    const admin = knexFactory({ client: 'pg', connection: adminUrl });
    await admin.raw('create database ??', [name]);
    undo.push(async () => {
      await admin.raw('drop database if exists ?? with (force)', [name]);
      await admin.destroy();
    });
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;

    const config = loadConfig({
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      PORT: String(apiPort),
      API_TOKEN: TOKEN,
      MASTER_KEY,
      TEMPORAL_CODEC_KEY: CODEC_KEY,
      TEMPORAL_UI_PORT: String(uiPort),
      DATABASE_URL: url.toString(),
      TEMPORAL_ADDRESS: temporal.address,
      EGRESS_ALLOW_PRIVATE: 'true',
    });
    const db = openDatabase(config, log);
    undo.push(() => db.destroy());
    await migrate(db, config.DEFAULT_TENANT_ID);
    const box = new SecretBox(parseMasterKey(MASTER_KEY));
    const client = await connectClient(config, temporal.address);
    undo.push(() => client.connection.close());
    const api = await startApi({ config, db, box, temporal: client, log });
    undo.push(() => closeServer(api.server));
    const { worker, close } = await createWorker({ config, address: temporal.address, db, box, log });
    const running = worker.run();
    undo.push(async () => {
      stopWorker(worker);
      await running;
      await close();
    });

    const receiver = createServer((req, res) => {
      req.resume();
      const refused = req.url?.startsWith('/legacy');
      res.writeHead(refused ? 400 : 200, { 'content-type': 'text/plain' }).end(refused ? 'unknown order' : 'ok');
    });
    const receiverUrl = await listen(receiver);
    undo.push(() => closeServer(receiver));

    const call = async (method: string, route: string, body?: unknown) => {
      const res = await fetch(`${api.url}/api/v1${route}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return (await res.json()) as { data: Record<string, unknown> };
    };
    await call('POST', '/endpoints', { url: `${receiverUrl}/shop/orders`, events: ['order.created'], description: 'Shop backend' });
    await call('POST', '/endpoints', { url: `${receiverUrl}/legacy/erp`, events: ['order.created'], description: 'Legacy ERP', retry_config: { max_retries: 0 } });
    for (let i = 1; i <= 3; i++) await call('POST', '/events', { type: 'order.created', payload: { order_id: 1000 + i, total: 49.9 * i } });
    await new Promise((r) => setTimeout(r, 4000));

    mkdirSync(OUT, { recursive: true });
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    undo.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const ui = temporal.uiUrl!;
    await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent("WorkflowType = 'deliveryWorkflow'")}`, { waitUntil: 'networkidle' });
    await page.screenshot({ path: path.join(OUT, 'deliveries-list.png') });

    for (const [status, file] of [['Failed', 'dead-letter.png'], ['Completed', 'delivered.png']] as const) {
      const found = client.workflow.list({ query: `WorkflowType = 'deliveryWorkflow' AND ExecutionStatus = '${status}'`, pageSize: 1 });
      const first = await found[Symbol.asyncIterator]().next();
      if (first.done) throw new Error(`no ${status} delivery to show`);
      await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(first.value.workflowId)}/${first.value.runId}/history`, { waitUntil: 'networkidle' });
      await page.waitForTimeout(1500);
      await page.screenshot({ path: path.join(OUT, file), fullPage: true });
    }
    process.stdout.write(`screenshots in ${path.relative(PROJECT_ROOT, OUT)}/\n`);
  } finally {
    for (const step of undo.reverse()) await step().catch((err) => log.error({ err }, 'cleanup step failed'));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
