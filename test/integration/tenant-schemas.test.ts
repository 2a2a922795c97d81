import { signInbound } from '../../src/inbound/sender';
import { createApiKey } from '../../src/services/api-keys';
import { SCOPES } from '../../src/domain/scopes';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
let acmeKey: string;

beforeAll(async () => {
  stack = await startStack({ worker: false });
  await stack.db('tenants').insert({ id: 'acme-schemas', name: 'Acme' }).onConflict('id').ignore();
  acmeKey = (await createApiKey(stack.db, null, { tenantId: 'acme-schemas', name: 'acme', scopes: [...SCOPES], expiresAt: null })).key;
});
afterAll(async () => stack?.stop());

/** Times one call; the API must answer (and keep answering others) quickly whatever the schema. */
async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
}

const saveType = (name: string, payload_schema: unknown, token?: string) =>
  stack.call('POST', '/api/v1/event-types', { name, payload_schema }, token ? { token } : {});
const send = (type: string, payload: unknown, token?: string) => stack.call('POST', '/api/v1/events', { type, payload }, token ? { token } : {});

describe('when a tenant schema has a catastrophic regex', () => {
  it('then a 30-character value is checked at once, by pattern, patternProperties and propertyNames alike', async () => {
    const evil = '^(a+)+$';
    const schema = {
      type: 'object',
      properties: { v: { type: 'string', pattern: evil } },
      patternProperties: { [evil]: { type: 'string' } },
      propertyNames: { pattern: '^(a|a)*$|^v$|^(a+)+$' },
    };
    expect((await saveType('redos.pattern', schema)).status).toBe(201);
    const value = `${'a'.repeat(30)}!`;
    const { value: res, ms } = await timed(() => send('redos.pattern', { v: value }));
    expect(res.status).toBe(422);
    expect(ms).toBeLessThan(1000);
    const { value: keyed, ms: keyedMs } = await timed(() => send('redos.pattern', { [value]: 'x' }));
    expect(keyed.status).toBe(422);
    expect(keyedMs).toBeLessThan(1000);
  });

  it('then a pattern the linear-time engine cannot run is refused at save, naming the field', async () => {
    const res = await saveType('redos.lookahead', { type: 'object', properties: { v: { type: 'string', pattern: '^(?=a)a+$' } } });
    expect(res.status).toBe(422);
    expect(res.body.details.map((d: { path: string }) => d.path)).toContain('body.payload_schema.properties.v.pattern');
  });

  it('then a relayed inbound event goes through the same linear-time check', async () => {
    const source = (await stack.call('POST', '/api/v1/sources', { name: 'redos-relay', allowed_handlers: ['relay'], default_handler: 'relay' })).body.data;
    const body = JSON.stringify({ type: 'redos.pattern', payload: { v: `${'a'.repeat(32)}!` } });
    const { value: res, ms } = await timed(() =>
      fetch(`${stack.url}/webhook/in`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-source-id': source.id, ...signInbound({ secret: source.secret, body }) }, body }),
    );
    expect(res.status).toBe(422);
    expect(ms).toBeLessThan(1000);
  });
});

describe('when a tenant schema asks for unique items', () => {
  it('then a large array of objects is checked in linear time, and an array beyond the bound is refused', async () => {
    expect((await saveType('unique.items', { type: 'object', properties: { list: { type: 'array', uniqueItems: true } } })).status).toBe(201);
    const list = Array.from({ length: 10_000 }, (_, i) => ({ n: i }));
    const { value: res, ms } = await timed(() => send('unique.items', { list }));
    expect(res.status).toBe(202);
    expect(ms).toBeLessThan(2000);
    const duplicated = await send('unique.items', { list: [{ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }] });
    expect(duplicated.status).toBe(422);
    expect(duplicated.body.details[0].path).toBe('body.payload.list');
    const tooMany = await send('unique.items', { list: Array.from({ length: 30_000 }, (_, i) => i) });
    expect(tooMany.status).toBe(422);
  });
});

describe('when a schema recurses or branches without end', () => {
  it('then a schema whose branches multiply on any value is refused at save, quickly', async () => {
    const definitions: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) definitions[`d${i}`] = { anyOf: [{ $ref: `#/definitions/d${i + 1}` }, { $ref: `#/definitions/d${i + 1}` }] };
    definitions.d40 = { type: 'number' };
    const { value: res, ms } = await timed(() => saveType('schema.bomb', { definitions, $ref: '#/definitions/d0' }));
    expect(res.status).toBe(422);
    expect(res.body.details[0]).toMatchObject({ path: 'body.payload_schema', message: expect.stringMatching(/steps/) });
    expect(ms).toBeLessThan(2000);
  });

  it('then a payload whose nesting multiplies the work stops at the budget with 422 schema_too_costly', async () => {
    expect((await saveType('schema.nesting', { type: 'array', items: { anyOf: [{ $ref: '#' }, { $ref: '#' }] } })).status).toBe(201);
    let payload: unknown = 'not an array';
    for (let i = 0; i < 40; i++) payload = [payload];
    const { value: res, ms } = await timed(() => send('schema.nesting', payload));
    expect(res.status).toBe(422);
    expect(res.body.err).toBe('schema_too_costly');
    expect(ms).toBeLessThan(2000);
    expect((await send('schema.nesting', [[[]]])).status).toBe(202);
  });

  it('then a $ref loop that never reaches into the data is refused at save', async () => {
    const res = await saveType('schema.loop', { anyOf: [{ $ref: '#' }] });
    expect(res.status).toBe(422);
  });
});

describe("when tenants' schemas use $id", () => {
  const withId = (id: string) => ({ $id: id, type: 'object', required: ['n'], properties: { n: { type: 'number' } } });

  it('then every event of a type whose schema has an $id is checked, not answered 500', async () => {
    expect((await saveType('with.id', withId('https://schemas.example/order'))).status).toBe(201);
    for (let i = 0; i < 3; i++) expect((await send('with.id', { n: i })).status).toBe(202);
    expect((await send('with.id', { n: 'x' })).status).toBe(422);
  });

  it('then another tenant may use the same $id without touching the first one', async () => {
    const acme = await saveType('with.id', { ...withId('https://schemas.example/order'), required: ['m'] }, acmeKey);
    expect(acme.status).toBe(201);
    expect((await send('with.id', { m: 1 }, acmeKey)).status).toBe(202);
    expect((await send('with.id', { n: 1 })).status).toBe(202);
    expect((await send('with.id', { m: 1 })).status).toBe(422);
  });

  it("then a $ref to another tenant's $id, or to a remote schema, is refused at save", async () => {
    const foreign = await saveType('ref.foreign', { $ref: 'https://schemas.example/order' }, acmeKey);
    expect(foreign.status).toBe(422);
    expect(foreign.body.details[0].path).toMatch(/^body\.payload_schema/);
    expect((await saveType('ref.remote', { properties: { a: { $ref: 'http://127.0.0.1:1/x.json' } } })).status).toBe(422);
  });
});

describe('when a schema is one the engine cannot run', () => {
  it.each([
    ['an unknown $schema', { $schema: 'http://json-schema.org/draft-03/schema#', type: 'object' }, 'body.payload_schema.$schema'],
    ['a $schema that is not a string', { $schema: 7, type: 'object' }, 'body.payload_schema.$schema'],
    ['a 1,500-deep schema', JSON.parse(`${'{"properties":{"a":'.repeat(1500)}{}${'}}'.repeat(1500)}`), 'body.payload_schema'],
    ['a schema too large', { enum: Array.from({ length: 6000 }, (_, i) => `value-${i}`) }, 'body.payload_schema'],
    ['a keyword of the wrong type', { type: 'object', properties: { a: { minLength: 'three' } } }, 'body.payload_schema.properties.a.minLength'],
  ])('then %s is refused at save with 422 naming the field', async (_name, schema, path) => {
    const res = await saveType('cannot.run', schema);
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ ok: false, err: 'validation_failed' });
    expect(res.body.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it('then a 2020-12 schema is run by the 2020-12 engine', async () => {
    const schema = { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'array', prefixItems: [{ type: 'string' }], items: { type: 'number' } };
    expect((await saveType('draft.2020', schema)).status).toBe(201);
    expect((await send('draft.2020', ['a', 1, 2])).status).toBe(202);
    expect((await send('draft.2020', ['a', 'b'])).status).toBe(422);
  });

  it('then a schema stored before these checks answers 422 at ingest, not 500', async () => {
    await stack.db('event_types').insert({ id: 'et_01aaaaaaaaaaaaaaaaaaaaaaaa', tenant_id: 'default', name: 'legacy.bad', payload_schema: JSON.stringify({ $schema: 'urn:nope', type: 'object' }) });
    const res = await send('legacy.bad', {});
    expect(res.status).toBe(422);
    expect(res.body.err).toBe('invalid_payload_schema');
  });
});
