import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/**
 * A generator of bad requests from the OpenAPI document: for every operation, its path
 * parameters, query parameters and body fields get values of every kind that the documented
 * schema refuses (wrong type, out of bounds, bad encoding, control characters, oversize), plus
 * what no schema shows but the edge refuses everywhere (U+0000, lone surrogates, deep nesting,
 * prototype keys), wrong methods, bad content types and malformed JSON.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = Record<string, any>;

/** One request of the corpus and the class of badness it belongs to. */
export interface BadCase {
  /** Operation, e.g. `POST /endpoints`. */
  operation: string;
  kind: string;
  name: string;
  method: string;
  /** Path and query, already encoded. */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** The whole request as written on the socket, for what no HTTP client sends. */
  raw?: string;
}

/** What the generator needs besides the document: working values for each operation. */
export interface Fixtures {
  /** `{id}` / `{name}` / `{handler}` values per operation path. */
  pathParams(path: string): Record<string, string>;
  /** A body each operation accepts (or refuses for a reason other than its shape, e.g. 409). */
  body(operation: string): Json | undefined;
  /** Query parameters an operation needs to be valid. */
  query(operation: string): Record<string, string>;
  /** Bearer token (undefined: routes outside /api/v1 without one). */
  token?: string;
  /** Largest body the server accepts. */
  maxBodyBytes: number;
}

/** Strings the JSON text carries verbatim in place of a marker (keys a JS object cannot hold). */
const RAW = '\u0001raw:';

const MARKERS = new Map<string, string>();
function raw(text: string): string {
  const marker = `${RAW}${MARKERS.size}`;
  MARKERS.set(marker, text);
  return marker;
}
/** JSON text of `value`, with raw markers replaced by their text. */
export function toJsonText(value: unknown): string {
  let text = JSON.stringify(value);
  for (const [marker, rawText] of MARKERS) text = text.split(JSON.stringify(marker)).join(rawText);
  return text;
}

const nested = (depth: number, leaf = '1') => `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;

/** Values no field may hold, whatever its schema says: the edge refuses these everywhere. */
function alwaysBad(): Array<[string, Json]> {
  return [
    ['NUL in a string', 'a\u0000b'],
    ['only NUL', '\u0000'],
    ['a lone high surrogate', 'x\ud800'],
    ['a lone low surrogate', '\udc00y'],
    ['nested 65 deep', raw(nested(65))],
    ['nested 10,000 deep', raw(nested(10_000))],
    ['a __proto__ key', raw('{"__proto__":{"polluted":true}}')],
    ['a constructor key', raw('{"constructor":{"prototype":{"polluted":true}}}')],
    ['a NUL key', raw('{"k\\u0000":1}')],
  ];
}

/** Values of every kind; the schema decides which of them are bad for a given field. */
function candidates(schema: Schema): Array<[string, Json]> {
  const out: Array<[string, Json]> = [
    ['a number', 12345],
    ['a negative number', -1],
    ['a fraction', 1.5],
    ['a huge number', 1e308],
    ['a boolean', true],
    ['null', null],
    ['an array', []],
    ['an object', {}],
    ['a string', 'text'],
    ['an empty string', ''],
    ['a numeric string', '42'],
    ['control characters', 'a\u0001\u001f\u007fb'],
    ['CR/LF', 'a\r\nX-Injected: 1'],
    ['path traversal', '../../../etc/passwd'],
    ['encoded traversal', '..%2F..%2Fetc%2Fpasswd'],
    ['a bidi override', 'abc\u202edef'],
    ['an emoji', '\u{1F4A9}'],
    ['SQL', "' OR 1=1 --"],
    ['markup', '<script>alert(1)</script>'],
    ['oversize', 'x'.repeat(20_000)],
  ];
  if (typeof schema.maxLength === 'number') out.push(['one past maxLength', 'x'.repeat(schema.maxLength + 1)]);
  if (typeof schema.minLength === 'number' && schema.minLength > 0) out.push(['below minLength', 'x'.repeat(schema.minLength - 1)]);
  if (typeof schema.maximum === 'number') out.push(['one past maximum', schema.maximum + 1]);
  if (typeof schema.minimum === 'number') out.push(['below minimum', schema.minimum - 1]);
  if (typeof schema.maxItems === 'number') out.push(['one past maxItems', Array.from({ length: schema.maxItems + 1 }, () => 'x')]);
  if (schema.minItems) out.push(['an empty array', []]);
  if (schema.format === 'date-time') out.push(['not a date', '2024-13-45T25:61:00Z'], ['a date without offset', '2024-01-01T00:00:00']);
  return out;
}

/**
 * Values at the edges of what a schema allows (bounds, far dates, long and multibyte text): not bad
 * input, but input that must never get a 5xx or a hang either.
 */
function extremes(schema: Schema): Array<[string, Json]> {
  const out: Array<[string, Json]> = [
    ['the epoch', '1970-01-01T00:00:00Z'],
    ['year 1', '0001-01-01T00:00:00Z'],
    ['year 0', '0000-01-01T00:00:00Z'],
    ['the last second of 9999 at -14:00', '9999-12-31T23:59:59-14:00'],
    ['a leap second', '2016-12-31T23:59:60Z'],
    ['nanoseconds', '2024-01-01T00:00:00.123456789+05:45'],
    ['the largest safe integer', Number.MAX_SAFE_INTEGER],
    ['zero', 0],
    ['negative zero', -0],
    ['a tiny fraction', 5e-324],
    ['an emoji', '\u{1F4A9}'],
    ['right-to-left text', '\u05e9\u05dc\u05d5\u05dd'],
    ['a zero-width joiner', 'a\u200db'],
  ];
  if (typeof schema.maximum === 'number') out.push(['the maximum', schema.maximum]);
  if (typeof schema.minimum === 'number') out.push(['the minimum', schema.minimum]);
  if (typeof schema.maxLength === 'number') {
    out.push(['maxLength ASCII', 'x'.repeat(schema.maxLength)], ['maxLength of 3-byte characters', '\u20ac'.repeat(schema.maxLength)]);
  }
  if (typeof schema.maxItems === 'number') out.push(['maxItems', Array.from({ length: schema.maxItems }, (_, i) => `v${i}`)]);
  return out;
}

export type Validate = (value: unknown) => boolean;

/** Ajv for the document's own schemas (JSON Schema 2020-12, as the document declares). */
export function docValidator(): (schema: Schema) => Validate {
  const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
  addFormats(ajv);
  const cache = new Map<Schema, Validate>();
  return (schema) => {
    let validate = cache.get(schema);
    if (!validate) {
      const compiled = ajv.compile(schema);
      validate = (value) => compiled(value) as boolean;
      cache.set(schema, validate);
    }
    return validate;
  };
}

/** Sets `value` at `path` in a deep copy of `base` (an object). */
function withValue(base: Json, path: string[], value: Json | undefined): Json {
  const copy = JSON.parse(JSON.stringify(base)) as Record<string, Json>;
  let at: Record<string, Json> = copy;
  for (const key of path.slice(0, -1)) {
    if (typeof at[key] !== 'object' || at[key] === null || Array.isArray(at[key])) at[key] = {};
    at = at[key] as Record<string, Json>;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

/** Body fields to mutate: every property, and the properties of object-valued ones (one variant of a union). */
function fields(schema: Schema, base: Json, prefix: string[] = [], depth = 0): Array<{ path: string[]; schema: Schema }> {
  const out: Array<{ path: string[]; schema: Schema }> = [];
  const variants: Schema[] = schema.properties ? [schema] : [...(schema.oneOf ?? []), ...(schema.anyOf ?? [])].filter((v: Schema) => v.properties);
  for (const variant of variants.slice(0, 1)) {
    for (const [name, sub] of Object.entries<Schema>(variant.properties)) {
      out.push({ path: [...prefix, name], schema: sub });
      const value = base && typeof base === 'object' && !Array.isArray(base) ? (base as Record<string, Json>)[name] : undefined;
      if (depth < 2 && value && typeof value === 'object' && !Array.isArray(value)) out.push(...fields(sub, value, [...prefix, name], depth + 1));
    }
  }
  return out;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Bad values for each field of `schema` (an object), set one at a time into `base`. */
function fieldCases(schema: Schema, base: Json, check: Validate): Array<[string, Json]> {
  const out: Array<[string, Json]> = [];
  for (const field of fields(schema, base)) {
    const label = field.path.join('.');
    for (const [what, value] of candidates(field.schema)) {
      const mutated = withValue(base, field.path, value);
      if (!check(mutated)) out.push([`${label}: ${what}`, mutated]);
    }
    // Every kind at the top level; nested fields get one of each kind (they pass the same edge check).
    const kinds = field.path.length === 1 ? alwaysBad() : alwaysBad().filter(([what]) => !/^(only NUL|a lone low|nested 10,000)/.test(what));
    for (const [what, value] of kinds) out.push([`${label}: ${what}`, withValue(base, field.path, value)]);
    if (field.schema.additionalProperties !== undefined || field.schema.propertyNames) {
      for (const key of ['bad key', 'keep-alive', 'x'.repeat(300), '']) {
        const mutated = withValue(base, [...field.path, key], 'x');
        if (!check(mutated)) out.push([`${label}: key ${JSON.stringify(key.slice(0, 20))}`, mutated]);
      }
    }
  }
  for (const required of (schema.required as string[] | undefined) ?? []) {
    out.push([`without required ${required}`, withValue(base, [required], undefined)]);
  }
  if (schema.additionalProperties === false) out.push(['an unknown field', withValue(base, ['zz_unknown'], 1)]);
  return out;
}

/** Values the schema accepts at its edges, set one at a time into `base`. */
function extremeCases(schema: Schema, base: Json, check: Validate): Array<[string, Json]> {
  const out: Array<[string, Json]> = [];
  for (const field of fields(schema, base)) {
    for (const [what, value] of extremes(field.schema)) {
      const mutated = withValue(base, field.path, value);
      if (check(mutated)) out.push([`${field.path.join('.')}: ${what}`, mutated]);
    }
  }
  return out;
}

const MALFORMED_JSON: Array<[string, string]> = [
  ['truncated', '{"a":'],
  ['a trailing comma', '{"a":1,}'],
  ['single quotes', "{'a':1}"],
  ['NaN', '{"a":NaN}'],
  ['trailing garbage', '{}garbage'],
  ['an unterminated string', '{"a":"x'],
  ['a bad escape', '{"a":"\\x"}'],
  ['a short unicode escape', '{"a":"\\u12"}'],
  ['a raw control character in a string', '{"a":"\u0001"}'],
  ['a comment', '{/* c */}'],
  ['only whitespace', '   '],
];

const TOP_LEVEL: Array<[string, string]> = [
  ['an array', '[]'],
  ['null', 'null'],
  ['a string', '"body"'],
  ['a number', '1'],
  ['true', 'true'],
];

const BAD_CONTENT_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/json; charset=utf-16', 'application/json; charset=latin1'];

const PATH_VALUES: Array<[string, string]> = [
  ['dot-dot', '..'],
  ['encoded traversal', '..%2F..%2Fetc%2Fpasswd'],
  ['double-encoded traversal', '%252e%252e%252f'],
  ['encoded NUL', 'x%00'],
  ['encoded CR/LF', 'x%0d%0aX-Injected:%201'],
  ['an overlong UTF-8 dot', '%C0%AE%C0%AE'],
  ['a bad percent escape', '%ZZ'],
  ['a truncated escape', '%E0%A4%A'],
  ['oversize', 'x'.repeat(5000)],
  ['an emoji', '%F0%9F%92%A9'],
  ['SQL', "'%20OR%201=1--"],
  ['another prefix', 'zz_01aaaaaaaaaaaaaaaaaaaaaaaa'],
  ['upper case', 'EP_01AAAAAAAAAAAAAAAAAAAAAAAA'],
  ['a lone surrogate', '%ED%A0%80'],
];

const QUERY_CANDIDATES: Array<[string, string]> = [
  ['a word', 'abc'],
  ['a fraction', '1.5'],
  ['negative', '-1'],
  ['huge', '99999999999999999999999'],
  ['exponent', '1e999'],
  ['zero', '0'],
  ['a bad date', '2024-13-45T25:61:00Z'],
  ['control characters', 'a%01%1Fb'],
  ['CR/LF', 'a%0d%0ab'],
  ['oversize', 'x'.repeat(5000)],
  ['traversal', '..%2F..%2Fetc'],
  ['quote', "a'b"],
];

/** Values a parameter's schema accepts but its meaning refuses (a cursor the API did not make). */
const SEMANTIC: Record<string, Array<[string, string]>> = {
  cursor: [['a garbage cursor', 'AAAA'], ['a long garbage cursor', 'x'.repeat(400)], ['base64 JSON', Buffer.from('{"CloseTime":"x"}').toString('base64url')]],
};

const QUERY_ALWAYS_BAD: Array<[string, string]> = [
  ['NUL', 'a%00b'],
  ['a lone surrogate', '%ED%A0%80'],
];

function fillPath(path: string, params: Record<string, string>, override?: [string, string]): string {
  return path.replace(/\{([A-Za-z_]+)\}/g, (_m, name: string) => (override && override[0] === name ? override[1] : encodeURIComponent(params[name] ?? 'x')));
}

const query = (params: Record<string, string>, extra = '') => {
  const text = Object.entries(params).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  const all = [text, extra].filter((s) => s !== '').join('&');
  return all ? `?${all}` : '';
};

/** The path a client really sends for `path` (dot segments resolved) is another route of the document. */
function resolvesToAnotherRoute(doc: Schema, method: string, base: string, path: string): boolean {
  const sent = new URL(path, 'http://x').pathname;
  if (sent === path) return false;
  return Object.entries<Schema>(doc.paths).some(
    ([templated, ops]) => ops[method] !== undefined && new RegExp(`^${base}${templated.replace(/\{[^}]+\}/g, '[^/]+')}/?$`).test(sent),
  );
}

/** Every bad case the document implies, for the routes of `doc` (paths under `prefix` unless the operation names its own server). */
export function generateCorpus(doc: Schema, fixtures: Fixtures, prefix: string): BadCase[] {
  const schemaCheck = docValidator();
  const cases: BadCase[] = [];
  for (const [templated, operations] of Object.entries<Schema>(doc.paths)) {
    for (const [method, op] of Object.entries<Schema>(operations)) {
      const operation = `${method.toUpperCase()} ${templated}`;
      const base = (op.servers?.[0]?.url ?? prefix).replace(/\/$/, '');
      const params = fixtures.pathParams(templated);
      const baseQuery = fixtures.query(operation);
      const auth: Record<string, string> = fixtures.token && !op.servers ? { authorization: `Bearer ${fixtures.token}` } : {};
      // A stream that accepts its query stays open: only refusals are checked there.
      const streams = Object.values<Schema>(op.responses ?? {}).some((r) => r?.content?.['text/event-stream']);
      const bodySchema: Schema | undefined = op.requestBody?.content?.['application/json']?.schema;
      const okBody = fixtures.body(operation);
      const bodyText = okBody === undefined ? undefined : toJsonText(okBody);
      const json = { ...auth, 'content-type': 'application/json' };
      const add = (kind: string, name: string, c: Partial<BadCase>) =>
        cases.push({ operation, kind, name, method: method.toUpperCase(), path: base + fillPath(templated, params) + query(baseQuery), headers: { ...auth }, ...c });

      for (const param of (op.parameters ?? []).filter((p: Schema) => p.in === 'path')) {
        for (const [what, value] of PATH_VALUES) {
          const path = base + fillPath(templated, params, [param.name, value]);
          // A client resolves `..` before sending: when that lands on another documented route
          // (`/endpoints/{id}/recoveries/..` is `/endpoints/{id}/`), the request is a good one.
          if (resolvesToAnotherRoute(doc, method, base, path)) continue;
          add('path', `${param.name}: ${what}`, { path: path + query(baseQuery), headers: bodyText ? json : { ...auth }, body: bodyText });
        }
      }

      for (const param of (op.parameters ?? []).filter((p: Schema) => p.in === 'query')) {
        const check = schemaCheck({ type: 'object', properties: { [param.name]: param.schema } });
        for (const [what, value] of QUERY_CANDIDATES) {
          if (check({ [param.name]: coerce(decodeURIComponent(value), param.schema) })) continue;
          add('query', `${param.name}: ${what}`, { path: base + fillPath(templated, params) + query(baseQuery, `${param.name}=${value}`) });
        }
        for (const [what, value] of streams ? [] : extremes(param.schema)) {
          if (typeof value === 'object' || !check({ [param.name]: coerce(String(value), param.schema) })) continue;
          add('extreme', `${param.name}: ${what}`, { path: base + fillPath(templated, params) + query(baseQuery, `${param.name}=${encodeURIComponent(String(value))}`) });
        }
        for (const [what, value] of [...QUERY_ALWAYS_BAD, ...(SEMANTIC[param.name] ?? [])]) add('query', `${param.name}: ${what}`, { path: base + fillPath(templated, params) + query(baseQuery, `${param.name}=${value}`) });
        add('query', `${param.name}: repeated`, { path: base + fillPath(templated, params) + query(baseQuery, `${param.name}=1&${param.name}=2`) });
      }
      if (method === 'get' && !op.servers) add('query', 'an unknown parameter', { path: base + fillPath(templated, params) + query(baseQuery, 'zz_unknown=1') });

      if (bodySchema && okBody !== undefined) {
        const check = schemaCheck(bodySchema);
        for (const [what, value] of fieldCases(bodySchema, okBody, check)) add('body', what, { headers: json, body: toJsonText(value) });
        for (const [what, value] of extremeCases(bodySchema, okBody, check)) add('extreme', what, { headers: json, body: toJsonText(value) });
        for (const [what, text] of MALFORMED_JSON) add('json', what, { headers: json, body: text });
        for (const [what, text] of TOP_LEVEL) if (!check(JSON.parse(text))) add('json', `top level ${what}`, { headers: json, body: text });
        for (const [what, value] of alwaysBad()) add('json', `top level ${what}`, { headers: json, body: toJsonText(withValue(okBody, ['zz_field'], value)) });
        add('json', 'a body past the size limit', { headers: json, body: toJsonText(withValue(okBody, ['zz_field'], 'x'.repeat(fixtures.maxBodyBytes))) });
        add('json', 'not UTF-8', { headers: json, body: Buffer.concat([Buffer.from(bodyText!.slice(0, -1)), Buffer.from(',"zz":"\xc3\x28"}', 'latin1')]) });
        for (const type of BAD_CONTENT_TYPES) add('content-type', type, { headers: { ...auth, 'content-type': type }, body: bodyText });
        add('content-type', 'no content type', { headers: { ...auth }, body: Buffer.from(bodyText!) });
        for (const encoding of ['compress', 'gzip', 'br', 'identity, gzip']) {
          add('content-encoding', encoding, { headers: { ...json, 'content-encoding': encoding }, body: bodyText });
        }
      }
    }
    const documented = new Set(Object.keys(operations));
    for (const method of METHODS.filter((m) => !documented.has(m))) {
      const op = Object.values<Schema>(operations)[0]!;
      const base = (op.servers?.[0]?.url ?? prefix).replace(/\/$/, '');
      const params = fixtures.pathParams(templated);
      const auth: Record<string, string> = fixtures.token && !op.servers ? { authorization: `Bearer ${fixtures.token}` } : {};
      cases.push({ operation: `${method.toUpperCase()} ${templated}`, kind: 'method', name: 'an undocumented method', method: method.toUpperCase(), path: base + fillPath(templated, params), headers: auth });
    }
  }
  return cases;
}

/** A query value as the server's coercion sees it, for the schema's verdict. */
function coerce(value: string, schema: Schema): unknown {
  const type = schema.type ?? schema.anyOf?.[0]?.type;
  if ((type === 'integer' || type === 'number') && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  return value;
}
