import { INTEGRATION_CATALOG, TEMPLATE_MAX_LENGTH, templateSchema } from '../../src/integrations/catalog';
import { findPlaceholders } from '../../src/integrations/placeholders';
import { bodyForEndpoint, renderCustomBody, renderSlackBody, renderTemplate, TemplateRenderError } from '../../src/integrations/render';

const envelope = {
  id: 'evt_1',
  type: 'order.created',
  timestamp: '2026-01-15T10:30:00.000Z',
  data: {
    order: { id: 'ord_7', total: 42.5, paid: true, coupon: null },
    customer: { name: 'Ada "the" Co\\\n<ops> & sons' },
    items: [{ sku: 'A-1', qty: 2 }],
  },
};
const CAP = 64 * 1024;
const custom = (body: string) => renderCustomBody(body, envelope, CAP);

describe('renderCustomBody', () => {
  it('when a string value is exactly one placeholder, then it becomes the JSON value itself', () => {
    const out = custom('{"order": "{{data.order}}", "items": "{{data.items}}", "total": "{{data.order.total}}", "paid": "{{ data.order.paid }}", "coupon": "{{data.order.coupon}}", "id": "{{id}}"}');
    expect(JSON.parse(out)).toEqual({ order: envelope.data.order, items: envelope.data.items, total: 42.5, paid: true, coupon: null, id: 'evt_1' });
  });

  it('when a placeholder is written bare where a value goes, then it becomes the JSON value too', () => {
    expect(JSON.parse(custom('{"total": {{data.order.total}}, "lines": [{{data.items.0}}]}'))).toEqual({ total: 42.5, lines: [{ sku: 'A-1', qty: 2 }] });
  });

  it('when a whole-value path is missing, then it becomes null', () => {
    expect(JSON.parse(custom('{"a": "{{data.nope}}", "b": {{data.order.id.deeper}}, "lang": "{{lang}}"}'))).toEqual({ a: null, b: null, lang: null });
  });

  it('when a placeholder is inside a longer string, then the value is inserted as text, JSON-escaped', () => {
    const out = custom('{"note": "for {{data.customer.name}}!", "summary": "{{type}}: {{data.order}} x{{data.items.0.qty}} paid={{data.order.paid}}"}');
    expect(JSON.parse(out)).toEqual({
      note: `for ${envelope.data.customer.name}!`,
      summary: 'order.created: {"id":"ord_7","total":42.5,"paid":true,"coupon":null} x2 paid=true',
    });
  });

  it('when a text path is missing or null, then nothing is inserted', () => {
    expect(JSON.parse(custom('{"a": "[{{data.nope}}][{{data.order.coupon}}]"}'))).toEqual({ a: '[][]' });
  });

  it('when a placeholder is an object key, then it is inserted as text (a key cannot be an object)', () => {
    expect(JSON.parse(custom('{"{{type}}": "{{data.order.id}}", "{{data.order}}": 1}'))).toEqual({ 'order.created': 'ord_7', [JSON.stringify(envelope.data.order)]: 1 });
  });

  it("when the template is rendered, then its layout, key order and numbers stay as written", () => {
    const template = '{\n  "b": 1.50,\n  "a": "{{data.order.id}}",\n  "2": 2, "1": 1e3\n}';
    expect(custom(template)).toBe('{\n  "b": 1.50,\n  "a": "ord_7",\n  "2": 2, "1": 1e3\n}');
  });

  it('when the same event and template are rendered twice, then the bytes are the same', () => {
    const template = '{"x": "{{data}}", "y": "{{data.customer.name}} {{timestamp}}"}';
    expect(custom(template)).toBe(custom(template));
    expect(renderCustomBody(template, structuredClone(envelope), CAP)).toBe(custom(template));
  });

  it('when a path names an inherited property, then it is missing (only own properties are read)', () => {
    expect(JSON.parse(custom('{"a": "{{data.constructor}}", "b": "{{__proto__}}", "c": "{{data.order.id.length}}"}'))).toEqual({ a: null, b: null, c: null });
  });

  it("when a path ends in an array's length, then it is the number of items", () => {
    expect(JSON.parse(custom('{"n": "{{data.items.length}}", "t": "{{data.items.length}} items"}'))).toEqual({ n: 1, t: '1 items' });
  });

  it('when escaped quotes and backslashes surround a placeholder, then the string boundaries are kept', () => {
    expect(JSON.parse(custom('{"a": "\\"{{data.order.id}}\\" \\\\", "b": "{{type}}"}'))).toEqual({ a: '"ord_7" \\', b: 'order.created' });
  });
});

describe('renderSlackBody', () => {
  it('when values are inserted, then they are text, with &, < and > escaped, and the template text is kept', () => {
    const body = renderSlackBody(
      { kind: 'slack', text: '*{{type}}* <https://shop.example/o/{{data.order.id}}|open> by {{data.customer.name}} {{data.items}} {{data.nope}}.', username: 'Orders', icon_emoji: ':package:' },
      envelope,
      CAP,
    );
    expect(body).toBe(
      JSON.stringify({
        text: '*order.created* <https://shop.example/o/ord_7|open> by Ada "the" Co\\\n&lt;ops&gt; &amp; sons [{"sku":"A-1","qty":2}] .',
        username: 'Orders',
        icon_emoji: ':package:',
      }),
    );
  });

  it('when username and icon are not given, then the body is only the text', () => {
    expect(renderSlackBody({ kind: 'slack', text: 'total {{data.order.total}}' }, envelope, CAP)).toBe('{"text":"total 42.5"}');
  });
});

describe('the size cap', () => {
  const big = { ...envelope, data: { blob: 'y'.repeat(40_000) } };

  it('when a custom rendering passes the cap, then it stops with body_too_large before building it all', () => {
    const template = `[${Array.from({ length: 2000 }, () => '"{{data.blob}}"').join(',')}]`;
    const started = Date.now();
    expect(() => renderCustomBody(template, big, 100_000)).toThrow(TemplateRenderError);
    expect(Date.now() - started).toBeLessThan(500);
    expect(() => renderCustomBody('["{{data.blob}}"]', big, 100_000)).not.toThrow();
  });

  it('when a Slack rendering passes the cap, counting JSON escapes, then it stops with body_too_large', () => {
    expect(() => renderSlackBody({ kind: 'slack', text: '{{data.blob}} {{data.blob}} {{data.blob}}' }, big, 100_000)).toThrow(TemplateRenderError);
    const quotes = { ...envelope, data: { q: '"'.repeat(30_000) } };
    expect(() => renderSlackBody({ kind: 'slack', text: '{{data.q}}' }, quotes, 50_000)).toThrow(/larger than 50000 bytes/);
    let caught: unknown;
    try {
      renderSlackBody({ kind: 'slack', text: '{{data.blob}}{{data.blob}}{{data.blob}}' }, big, 100_000);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ name: 'TemplateRenderError', code: 'body_too_large' });
  });

  it('when the cap counts bytes, then multi-byte text counts by its UTF-8 size', () => {
    const wide = { ...envelope, data: { e: 'é'.repeat(600) } };
    expect(() => renderCustomBody('"{{data.e}}"', wide, 1_000)).toThrow(TemplateRenderError);
    expect(() => renderCustomBody('"{{data.e}}"', wide, 1_300)).not.toThrow();
  });
});

describe('bodyForEndpoint', () => {
  const stored = '{"id":"evt_1","type":"a.b","timestamp":"2026-01-15T10:30:00.000Z","data":{"n":1}}';

  it('when the endpoint has no template, then the stored body is returned as it is', () => {
    expect(bodyForEndpoint(stored, null, 10)).toBe(stored);
  });

  it('when it has one, then the template is rendered over the stored envelope', () => {
    expect(bodyForEndpoint(stored, { kind: 'custom', body: '{"n": "{{data.n}}", "t": "{{type}}"}' }, CAP)).toBe('{"n": 1, "t": "a.b"}');
    expect(renderTemplate({ kind: 'slack', text: '{{data.n}}' }, JSON.parse(stored), CAP)).toBe('{"text":"1"}');
  });
});

describe('templateSchema', () => {
  const issues = (template: unknown) => {
    const parsed = templateSchema.safeParse(template);
    expect(parsed.success).toBe(false);
    return parsed.error!.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  };

  it.each([
    ['an unknown kind', { kind: 'teams', text: 'x' }, 'kind'],
    ['a Slack template without text', { kind: 'slack' }, 'text'],
    ['a custom template without body', { kind: 'custom' }, 'body'],
    ['a body that is not JSON', { kind: 'custom', body: '{"a": "{{type}}"' }, 'body'],
    ['a bare placeholder where no value can go', { kind: 'custom', body: '{ {{type}}: 1 }' }, 'body'],
    ['an escape cut by a placeholder', { kind: 'custom', body: '{"a": "\\u{{type}}0041"}' }, 'body'],
    ['a placeholder that is not a dotted path', { kind: 'slack', text: 'hi {{data.a-b}}' }, 'text'],
    ['a placeholder with an expression', { kind: 'custom', body: '{"a": "{{constructor.constructor(\'x\')()}}"}' }, 'body'],
    ['an unclosed placeholder', { kind: 'slack', text: 'hi {{type' }, 'text'],
    ['an empty placeholder', { kind: 'slack', text: 'hi {{}}' }, 'text'],
    ['an over-long text', { kind: 'slack', text: 'x'.repeat(TEMPLATE_MAX_LENGTH + 1) }, 'text'],
    ['an over-long body', { kind: 'custom', body: `"${'x'.repeat(TEMPLATE_MAX_LENGTH)}"` }, 'body'],
    ['an icon that is not an emoji name', { kind: 'slack', text: 'x', icon_emoji: 'bell' }, 'icon_emoji'],
    ['an unknown field', { kind: 'slack', text: 'x', channel: '#general' }, ''],
  ])('when the template has %s, then it is refused naming the field', (_what, template, field) => {
    const found = issues(template);
    expect(found.map((i) => i.path)).toContain(field);
  });

  it('when placeholders are valid, then each one is found with its path', () => {
    expect(findPlaceholders('a {{ x.y }} b {{z_1.0}}').map((p) => p.path)).toEqual(['x.y', 'z_1.0']);
    expect(templateSchema.safeParse({ kind: 'custom', body: '{"a": {{data.total}}, "b": "{{ data.items }}"}' }).success).toBe(true);
  });
});

describe('the integration catalog', () => {
  it('when it is built, then each kind lists its fields from the validating schema and a valid example', () => {
    expect(INTEGRATION_CATALOG.map((k) => k.kind)).toEqual(['slack', 'custom']);
    for (const kind of INTEGRATION_CATALOG) {
      expect(templateSchema.parse(kind.example.endpoint.template)).toEqual(kind.example.endpoint.template);
      for (const field of kind.fields) expect(field).toEqual({ name: expect.any(String), type: expect.any(String), required: expect.any(Boolean), description: expect.any(String) });
    }
    const slack = INTEGRATION_CATALOG[0]!;
    expect(slack.fields.map((f) => [f.name, f.required])).toEqual([['kind', true], ['text', true], ['username', false], ['icon_emoji', false]]);
    expect(slack.example.body).toEqual({ text: 'New order ord_1001 from Ada &amp; Co &lt;ops&gt;: 149.9 EUR', username: 'Orders', icon_emoji: ':package:' });
  });
});
