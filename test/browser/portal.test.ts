/**
 * The portal in a real browser: Debian's Chromium driven by playwright-core against the real API,
 * worker, Temporal and Postgres. With SCREENSHOTS=1 (`npm run screenshots:portal`) each view is
 * also saved to docs/portal/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { storeAttempt } from '../../src/db/attempts-repo';
import { insertEventWithDeliveries } from '../../src/db/events-repo';
import { newId } from '../../src/ids';
import { createApiKey } from '../../src/services/api-keys';
import { newDeliveries } from '../../src/services/ingest';
import type { Receiver } from '../helpers/receiver';
import { eventually, startStackWithReceiver, stopAll, type Stack } from '../helpers/stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = process.env.SCREENSHOTS === '1' ? path.resolve(__dirname, '../../docs/portal') : null;
/** Per test: the machine may be busy (a browser, Temporal, Postgres and the API on a few cores). */
const LONG = 300_000;

let stack: Stack;
let receiver: Receiver;
let browser: Browser;
let owner: BrowserContext;
let page: Page;
let endpointId: string;
let firstSecret: string;
/** Content-Security-Policy violations the browser reported, on any page. */
const cspViolations: string[] = [];

async function shot(p: Page, name: string, fullPage = true): Promise<void> {
  if (!SHOTS) return;
  await p.waitForTimeout(300);
  await p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}

async function newLink(body: Record<string, unknown> = {}, token?: string): Promise<string> {
  const res = await stack.call('POST', '/api/v1/portal/sessions', body, { token });
  expect(res.status).toBe(201);
  return res.body.data.url as string;
}

async function newContext(width = 1280, height = 860): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width, height } });
  // Waits are for things that do happen; under load they may take longer than Playwright's 30 s.
  context.setDefaultTimeout(60_000);
  context.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  return context;
}

/** Attempts in the past hours, stored as the worker records them, so the charts have a shape. */
async function pastAttempts(id: string): Promise<void> {
  const now = Date.now();
  for (let h = 30; h >= 1; h--) {
    const eventId = newId('evt');
    const { event, deliveries } = await insertEventWithDeliveries(stack.db, stack.config.DEFAULT_TENANT_ID, { id: eventId, type: 'order.created', body: '{}', idempotencyKey: null }, newDeliveries(eventId, [id]));
    const failing = h % 7 === 0 || h % 11 === 0;
    for (let a = 1; a <= (failing ? 2 : 1); a++) {
      const ok = !failing || a === 2;
      await storeAttempt(stack.db, {
        tenant_id: stack.config.DEFAULT_TENANT_ID, delivery_id: deliveries[0]!.id, endpoint_id: id, event_id: event.id, attempt: a,
        outcome: ok ? 'succeeded' : 'retryable', started_at: new Date(now - h * 3600_000 + a * 60_000),
        duration_ms: 40 + ((h * 37) % 90) + (ok ? 0 : 200), response_status: ok ? 200 : 503, error_class: ok ? null : 'http_5xx',
        error_message: null, response_excerpt: null, delivery_status: ok ? 'succeeded' : 'retrying',
      }, { reachedReceiver: true, keyIds: [] });
    }
  }
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  // A tenant of its own: other test files of the run create endpoints for the default one.
  ({ stack, receiver } = await startStackWithReceiver({ env: { DEFAULT_TENANT_ID: 'portal_owner' } }));
  receiver.respond((req) => (req.path.startsWith('/flaky') && !receiver.requests.some((r) => r.path === '/flaky/fixed') ? { status: 503, body: 'maintenance' } : { status: 200, body: 'ok' }));
  await stack.call('POST', '/api/v1/event-types', {
    name: 'order.created', category: 'orders', version: '1', description: 'An order was placed',
    payload_schema: { type: 'object', required: ['order_id'], properties: { order_id: { type: 'integer' }, total: { type: 'number' } } },
    example_payload: { order_id: 1042, total: 99.5 },
  });
  await stack.call('POST', '/api/v1/event-types', { name: 'order.refunded', category: 'orders', description: 'An order was refunded', example_payload: { order_id: 1042 } });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  owner = await newContext();
  page = await owner.newPage();
}, LONG);

afterAll(async () => {
  await browser?.close();
  await stopAll(stack, receiver);
});

describe('when an endpoint owner opens a portal link', () => {
  it('then the portal opens on their endpoints, and the link cannot be used again', async () => {
    const link = await newLink();
    await page.goto(link);
    await page.waitForURL(/\/portal\/$/);
    await expect(page.getByRole('heading', { name: 'Endpoints' }).waitFor()).resolves.toBeUndefined();
    await page.getByText('No endpoints yet').waitFor();

    const again = await (await newContext()).newPage();
    const res = await again.goto(link);
    expect(res!.status()).toBe(410);
    await again.getByRole('heading', { name: 'Link already used' }).waitFor();
  }, LONG);

  it('then they create an endpoint with event types from the catalog and see its secret once', async () => {
    await page.getByRole('link', { name: 'New endpoint' }).click();
    await page.getByLabel('URL (required)').fill(`${receiver.url}/hooks/orders`);
    await page.getByLabel('Name').fill('Order service');
    await page.getByLabel('order.created').check();
    await page.getByRole('button', { name: 'Add a header' }).click();
    await page.getByLabel('Name', { exact: true }).nth(1).fill('X-Team');
    await page.getByLabel('Value').fill('billing');
    await page.getByLabel('Rate limit (requests per second)').fill('50');
    await page.getByLabel('Signature scheme').selectOption('standard-webhooks');
    await shot(page, 'endpoint-form');
    await page.getByRole('button', { name: 'Create endpoint' }).click();

    const secret = page.getByTestId('secret');
    await secret.waitFor();
    firstSecret = (await secret.textContent())!;
    expect(firstSecret).toMatch(/^whsec_/);
    endpointId = /#\/endpoints\/(ep_[0-9a-z]{26})/.exec(page.url())![1]!;
    const stored = await stack.call('GET', `/api/v1/endpoints/${endpointId}`);
    expect(stored.body.data).toMatchObject({ name: 'Order service', events: ['order.created'], rate_limit: 50, scheme: 'standard-webhooks', headers: { 'X-Team': { value: 'billing', sensitive: false } } });
    await shot(page, 'endpoint-created');

    // Shown once: the page again, without the secret.
    await page.reload();
    await page.getByRole('heading', { name: 'Order service' }).waitFor();
    expect(await page.getByTestId('secret').count()).toBe(0);
  }, LONG);

  it('then the keyboard reaches the skip link, then the sections in order, and a new page puts the focus on its heading', async () => {
    await page.goto(`${stack.url}/portal/#/endpoints`);
    await page.getByRole('heading', { name: 'Endpoints' }).waitFor();
    const focused = () => page.evaluate<string>('document.activeElement.textContent.trim()');
    expect(await page.evaluate<string>("document.querySelector('a[href], button, input, select, textarea').textContent")).toBe('Skip to content');
    await page.getByText('Skip to content').focus();
    for (const name of ['Endpoints', 'Event catalog', 'Live attempts']) {
      await page.keyboard.press('Tab');
      expect(await focused()).toBe(name);
    }
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Live attempts' }).waitFor();
    await eventually(async () => ((await focused()) === 'Live attempts' && (await page.evaluate<string>('document.activeElement.tagName')) === 'H1' ? true : undefined), 5_000, 'the heading to take the focus');
  }, LONG);

  it('then a form mistake is shown in words next to the form, and nothing is saved', async () => {
    await page.goto(`${stack.url}/portal/#/endpoints/new`);
    await page.getByLabel('URL (required)').fill('ftp://nowhere');
    await page.getByLabel('order.created').check();
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('body.url');
    expect((await stack.call('GET', '/api/v1/endpoints')).body.data.total).toBe(1);
  }, LONG);

  it('then a test event they send appears in the live feed as it is attempted', async () => {
    const live = await owner.newPage();
    await live.goto(`${stack.url}/portal/#/live?endpoint_id=${endpointId}`);
    await live.getByText('Live: new attempts appear at the top.').waitFor();

    await page.goto(`${stack.url}/portal/#/endpoints/${endpointId}`);
    await page.getByLabel('Event type').selectOption('order.created');
    await eventually(async () => ((await page.getByLabel('Payload (JSON)').inputValue()).includes('1042') ? true : undefined), 10_000, 'the example payload');
    await page.getByRole('button', { name: 'Send test event' }).click();
    const sent = page.getByText('Test event sent: delivery');
    await sent.waitFor();
    const deliveryId = (await sent.getByRole('link').first().textContent())!;

    const row = live.getByRole('row').filter({ hasText: deliveryId });
    await row.waitFor({ timeout: 60_000 });
    expect(await row.textContent()).toContain('succeeded');
    const got = await receiver.waitForRequests(1, 30_000, '/hooks/orders');
    expect(got[0]!.headers['x-team']).toBe('billing');
    expect(got[0]!.headers['webhook-signature']).toMatch(/^v1,/);
    await shot(live, 'live-feed');
    await live.close();
  }, LONG);

  it('then they redeliver a failed delivery from its attempt timeline', async () => {
    const flaky = await stack.call('POST', '/api/v1/endpoints', { url: `${receiver.url}/flaky`, name: 'Warehouse', events: ['order.created'], retry_config: { max_retries: 0 } });
    const event = await stack.call('POST', '/api/v1/events', { type: 'order.created', payload: { order_id: 7, total: 12 } });
    const delivery = event.body.data.deliveries.find((d: { endpoint_id: string }) => d.endpoint_id === flaky.body.data.id).id as string;
    await eventually(async () => ((await stack.call('GET', `/api/v1/deliveries/${delivery}`)).body.data.status === 'failed' ? true : undefined), 60_000, 'the delivery to fail');

    await page.goto(`${stack.url}/portal/#/endpoints/${flaky.body.data.id}/deliveries`);
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('link', { name: delivery }).waitFor({ timeout: 30_000 });
    await shot(page, 'delivery-log');
    await page.getByRole('link', { name: delivery }).click();
    await page.getByRole('heading', { name: `Delivery ${delivery}` }).waitFor();
    await page.getByText('maintenance').first().waitFor({ state: 'attached' });

    receiver.respond(() => ({ status: 200, body: 'ok' }));
    await page.getByRole('button', { name: 'Redeliver' }).click();
    await page.getByText('Redelivery started').waitFor();
    await page.getByRole('listitem').filter({ hasText: 'Attempt 2' }).waitFor({ timeout: 60_000 });
    await page.locator('.title-row .badge-succeeded').waitFor({ timeout: 60_000 });
    expect((await stack.call('GET', `/api/v1/deliveries/${delivery}`)).body.data).toMatchObject({ status: 'succeeded' });
    await shot(page, 'delivery-attempts');
  }, LONG);

  it('then they rotate the secret and see the new one', async () => {
    await page.goto(`${stack.url}/portal/#/endpoints/${endpointId}`);
    await page.getByLabel('Old secret stays valid for').selectOption('3600');
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByText('Rotation started').waitFor();
    await page.getByRole('button', { name: 'Show the new secret' }).click();
    const secret = page.getByTestId('secret');
    await secret.waitFor({ timeout: 30_000 });
    const rotated = (await secret.textContent())!;
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(firstSecret);
    const keys = await stack.call('GET', `/api/v1/keys?scope_type=endpoint&scope_id=${endpointId}`);
    expect(keys.body.data.items.map((k: { state: string }) => k.state).sort()).toEqual(['active', 'grace']);
    await shot(page, 'secret-rotated');
  }, LONG);

  it('then the edit form, stats charts, catalog and a phone-width list render', async () => {
    await pastAttempts(endpointId);
    await page.goto(`${stack.url}/portal/#/endpoints/${endpointId}/stats`);
    await page.getByRole('heading', { name: 'Statistics' }).waitFor();
    await page.locator('.chart canvas').nth(1).waitFor();
    expect(await page.locator('.chart canvas').count()).toBe(2);
    await shot(page, 'endpoint-stats');

    await page.goto(`${stack.url}/portal/#/endpoints/${endpointId}`);
    await page.getByRole('heading', { name: 'Order service' }).waitFor();
    await shot(page, 'endpoint-overview');
    await page.getByRole('link', { name: 'Edit' }).click();
    await eventually(async () => ((await page.getByLabel('URL (required)').inputValue()).includes('/hooks/orders') ? true : undefined), 10_000, 'the form filled in');
    await page.getByLabel('Description').fill('Receives every new order');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Receives every new order').waitFor();

    await page.goto(`${stack.url}/portal/#/catalog`);
    await page.getByRole('heading', { name: 'order.created' }).waitFor();
    await page.getByText('Payload schema').first().click();
    await page.getByText('Example payload').first().click();
    await shot(page, 'event-catalog');

    const phone = await owner.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${stack.url}/portal/#/endpoints`);
    await phone.getByRole('link', { name: 'Order service' }).waitFor();
    // Nothing wider than the screen: no sideways scrolling on a phone.
    expect(await phone.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await shot(phone, 'endpoints-phone');
    await page.goto(`${stack.url}/portal/#/endpoints`);
    await page.getByRole('link', { name: 'Order service' }).waitFor();
    await shot(page, 'endpoints');
    await phone.close();
  }, LONG);

  it('then they disable the endpoint and enable it again', async () => {
    await page.goto(`${stack.url}/portal/#/endpoints/${endpointId}`);
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByText('This endpoint is disabled').waitFor();
    expect((await stack.call('GET', `/api/v1/endpoints/${endpointId}`)).body.data.is_active).toBe(false);
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.getByRole('button', { name: 'Disable' }).waitFor();
    expect((await stack.call('GET', `/api/v1/endpoints/${endpointId}`)).body.data.is_active).toBe(true);
  }, LONG);

  it('then they delete an endpoint once they confirm it', async () => {
    const doomed = (await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/old', name: 'Old hook', events: ['order.created'] })).body.data.id as string;
    await page.goto(`${stack.url}/portal/#/endpoints/${doomed}`);
    await page.getByRole('heading', { name: 'Old hook' }).waitFor();
    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.getByRole('button', { name: 'Delete' }).click();
    expect((await stack.call('GET', `/api/v1/endpoints/${doomed}`)).status).toBe(200);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/#\/endpoints$/);
    await page.getByRole('link', { name: 'Order service' }).waitFor();
    expect(await page.getByRole('link', { name: 'Old hook' }).count()).toBe(0);
    expect((await stack.call('GET', `/api/v1/endpoints/${doomed}`)).status).toBe(404);
  }, LONG);
});

describe("when another tenant's owner opens their own link", () => {
  it('then they see none of the first tenant: no endpoints, a not-found endpoint, no attempts in their live feed', async () => {
    await stack.db('tenants').insert({ id: 'portal-b', name: 'B' }).onConflict('id').ignore();
    const { key } = await createApiKey(stack.db, null, { tenantId: 'portal-b', name: 'b', scopes: ['portal:write', 'endpoints:read', 'endpoints:write', 'deliveries:read', 'event-types:read'], expiresAt: null });
    const other = await (await newContext()).newPage();
    await other.goto(await newLink({}, key));
    await other.getByText('No endpoints yet').waitFor().catch(async (err: Error) => {
      throw new Error(`${err.message}\npage text: ${await other.locator('body').innerText()}`);
    });
    expect(await other.locator('header .tenant').textContent()).toBe('portal-b');

    // Long lists come in pages of 20.
    for (let i = 1; i <= 23; i++) {
      const made = await stack.call('POST', '/api/v1/endpoints', { url: `https://b.example.com/hook-${String(i).padStart(2, '0')}`, events: ['*'] }, { token: key });
      expect(made.status).toBe(201);
    }
    await other.reload();
    await other.getByText('1–20 of 23').waitFor();
    expect(await other.getByRole('row').count()).toBe(21);
    await other.getByRole('button', { name: 'Next' }).click();
    await other.getByText('21–23 of 23').waitFor();
    expect(await other.getByRole('row').count()).toBe(4);
    expect(await other.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);

    await other.goto(`${stack.url}/portal/#/endpoints/${endpointId}`);
    const alert = other.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('not found');

    await other.goto(`${stack.url}/portal/#/live`);
    await other.getByText('Live: new attempts appear at the top.').waitFor();
    const before = receiver.requests.length;
    await stack.call('POST', '/api/v1/events', { type: 'order.created', payload: { order_id: 8 } });
    await receiver.waitForRequests(before + 1, 30_000);
    await other.waitForTimeout(2500);
    await other.getByText('No attempts since you opened this page.').waitFor();
    await other.close();
  }, LONG);
});

describe('when a link has expired', () => {
  it('then it is refused with a page that says so, and the portal has no session', async () => {
    const link = await newLink({ link_expires_in: 1 });
    await new Promise((r) => setTimeout(r, 1500));
    const late = await (await newContext()).newPage();
    const res = await late.goto(link);
    expect(res!.status()).toBe(410);
    await late.getByRole('heading', { name: 'Link expired' }).waitFor();
    await shot(late, 'link-expired', false);
    await late.goto(`${stack.url}/portal/`);
    await late.getByRole('heading', { name: 'Portal session ended' }).waitFor();
    await late.close();
  }, LONG);
});

describe('when the portal ran through all of this', () => {
  it('then the browser reported no Content-Security-Policy violation', () => {
    expect(cspViolations).toEqual([]);
  });
});
