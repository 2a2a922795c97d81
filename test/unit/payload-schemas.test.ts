import { compilePayloadSchema, SCHEMA_LIMITS, storedPayloadSchema } from '../../src/services/payload-schemas';

const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (err) {
    return err as { status: number; code: string; details: Array<{ path: string; message: string }> };
  }
  throw new Error('expected a refusal');
};

describe('when a payload schema is compiled', () => {
  it('then every regex runs on RE2: a catastrophic pattern is checked in linear time', () => {
    const schema = compilePayloadSchema({ properties: { v: { pattern: '^(a+)+$' } }, patternProperties: { '^(a|aa)+$': { type: 'number' } } }, 'p');
    const started = performance.now();
    expect(refusal(() => schema.check({ v: `${'a'.repeat(5000)}!` }, 'body.payload')).details[0]!.path).toBe('body.payload.v');
    expect(refusal(() => schema.check({ ['a'.repeat(5000)]: 'x' }, 'body.payload')).code).toBe('validation_failed');
    expect(performance.now() - started).toBeLessThan(500);
  });

  it.each([
    ['a lookahead pattern', { properties: { v: { pattern: '(?=x)' } } }, 'p.properties.v.pattern'],
    ['a backreference key', { patternProperties: { '(a)\\1': {} } }, 'p.patternProperties.(a)\\1'],
    ['a pattern too long', { pattern: 'a'.repeat(SCHEMA_LIMITS.maxPatternLength + 1) }, 'p.pattern'],
    ['an unknown $schema', { $schema: 'http://json-schema.org/draft-04/schema#' }, 'p.$schema'],
    ['a numeric $schema', { $schema: 4 }, 'p.$schema'],
    ['a schema too deep', JSON.parse(`${'{"not":'.repeat(70)}{}${'}'.repeat(70)}`), 'p'],
    ['a remote $ref', { $ref: 'https://example.com/s.json' }, 'p'],
    ['an $async schema', { $async: true }, 'p.$async'],
    ['a loop through $ref', { allOf: [{ $ref: '#' }] }, 'p'],
  ])('then %s is refused with 422 naming the field', (_name, schema, path) => {
    const err = refusal(() => compilePayloadSchema(schema, 'p'));
    expect(err.status).toBe(422);
    expect(err.details.map((d) => d.path)).toContain(path);
  });

  it('then two schemas with the same $id compile side by side, each with its own rules', () => {
    const a = compilePayloadSchema({ $id: 'https://x/s', required: ['a'] }, 'p');
    const b = compilePayloadSchema({ $id: 'https://x/s', required: ['b'] }, 'p');
    expect(() => a.check({ a: 1 }, 'b')).not.toThrow();
    expect(() => b.check({ b: 1 }, 'b')).not.toThrow();
    expect(() => a.check({ b: 1 }, 'b')).toThrow();
  });

  it('then uniqueItems compares JSON values, whatever their key order, and bounds the array', () => {
    const schema = compilePayloadSchema({ uniqueItems: true }, 'p');
    expect(() => schema.check([{ a: 1, b: 2 }, { b: 2, a: 1.0 }], 'b')).toThrow();
    expect(() => schema.check([1, '1', [1], { 1: 1 }], 'b')).not.toThrow();
    expect(refusal(() => schema.check(Array.from({ length: SCHEMA_LIMITS.maxUniqueItems + 1 }, (_, i) => i), 'b')).details[0]!.message).toMatch(/at most/);
  });

  it('then a payload whose checks multiply past the budget is refused as too costly', () => {
    const schema = compilePayloadSchema({ type: 'array', items: { anyOf: [{ $ref: '#' }, { $ref: '#' }] } }, 'p');
    let payload: unknown = 'x';
    for (let i = 0; i < 30; i++) payload = [payload];
    expect(refusal(() => schema.check(payload, 'b')).code).toBe('schema_too_costly');
  });

  it('then a stored schema the engine refuses answers 422 invalid_payload_schema', () => {
    const err = refusal(() => storedPayloadSchema('t', { id: 'et_1', name: 'x.y', updated_at: new Date(), payload_schema: { $schema: 'urn:nope' } }));
    expect(err).toMatchObject({ status: 422, code: 'invalid_payload_schema' });
  });
});
