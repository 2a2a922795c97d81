import knexFactory from 'knex';
import { migrate } from '../../src/db/knex';
import { PrivatePostgres } from '../helpers/private-postgres';
import { eventually, startStack, type Stack } from '../helpers/stack';

let pg: PrivatePostgres;
let stack: Stack;

beforeAll(async () => {
  pg = await PrivatePostgres.create();
  const admin = knexFactory({ client: 'pg', connection: pg.url });
  try {
    await migrate(admin, 'default');
  } finally {
    await admin.destroy();
  }
  stack = await startStack({ worker: false, env: { DATABASE_URL: pg.url } });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await pg?.destroy();
});

type Answer = { status: number; body: any; headers: Headers };

/** One round of what clients do: list, read, ingest, and an unauthenticated inbound webhook. */
const load = (): Promise<Answer>[] => [
  stack.call('GET', '/api/v1/endpoints'),
  stack.call('GET', '/api/v1/events?limit=5'),
  stack.call('POST', '/api/v1/events', { type: 'db.down', payload: { n: 1 } }),
  stack.call('POST', '/webhook/in', { a: 1 }, { token: null, headers: { 'x-source-id': 'src_01aaaaaaaaaaaaaaaaaaaaaaaa', 'x-ts': String(Math.floor(Date.now() / 1000)), 'x-nonce': 'n'.repeat(20), 'x-signature': 'ab'.repeat(64) } }),
];

describe('when Postgres restarts under load', () => {
  it('then no request gets a 500: while it is down the API answers 503 unavailable with Retry-After, and recovers after', async () => {
    expect((await stack.call('POST', '/api/v1/endpoints', { url: 'https://example.com/h', events: ['other.type'] })).status).toBe(201);

    // Requests in flight while the server stops (open sessions are terminated: 57P01).
    const during: Promise<Answer>[] = [];
    for (let i = 0; i < 5; i++) during.push(...load());
    await pg.stop();
    for (let i = 0; i < 3; i++) during.push(...load());
    const answers = await Promise.all(during);
    expect(answers.filter((a) => a.status >= 500 && a.status !== 503).map((a) => [a.status, a.body])).toEqual([]);

    // Down: every kind of request is a 503 in the envelope, with Retry-After.
    const down = await Promise.all(load());
    for (const answer of down) {
      expect([answer.status, answer.body.ok, answer.body.err]).toEqual([503, false, 'unavailable']);
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    }

    await pg.start();
    await eventually(async () => ((await stack.call('GET', '/api/v1/endpoints')).status === 200 ? true : undefined), 30_000, 'the API to reach the database again');
  });
});
