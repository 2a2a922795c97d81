import Ajv, { type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv';
import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { LRUCache } from 'lru-cache';
import RE2 from 're2';
import { AppError, ValidationError } from '../errors';

/**
 * The engine that runs tenants' payload schemas. A tenant is an adversary of every other tenant,
 * so a schema must neither stall the process nor reach another tenant's schemas:
 *
 * - every regex (`pattern`, `patternProperties`, `propertyNames`, `format: regex`) runs on RE2,
 *   in linear time; a pattern RE2 cannot run (lookaround, backreferences) is refused at save;
 * - a schema is at most {@link SCHEMA_LIMITS}.maxBytes of JSON and maxDepth levels deep;
 * - `uniqueItems` is checked in linear time (canonical JSON in a set), on arrays of at most
 *   maxUniqueItems items;
 * - each validation has a budget of schema evaluations (a base plus a few per value in the
 *   payload) and of time: a schema whose `$ref`s or combinators branch without end is refused at
 *   save when empty values already exhaust it, and a payload that exhausts it answers 422
 *   `schema_too_costly`;
 * - each schema is compiled by an Ajv instance of its own: `$id`s never collide, and a `$ref` to
 *   anything outside the schema (another tenant's `$id`, a URL) does not resolve (422 at save).
 */
export const SCHEMA_LIMITS = {
  maxBytes: 64 * 1024,
  maxDepth: 64,
  maxUniqueItems: 10_000,
  /** Longest `pattern` (or `patternProperties` key) a schema may have, and longest `format: regex` value checked. */
  maxPatternLength: 1024,
  /** Schema evaluations every validation may use, plus stepsPerValue for each value in the payload. */
  baseSteps: 20_000,
  stepsPerValue: 10,
  /** Wall-clock bound of one validation, whatever its steps. */
  maxMilliseconds: 200,
  maxErrorsListed: 100,
} as const;

/** A compiled payload schema. */
export interface PayloadSchema {
  /** Throws a 422 listing what is wrong with `payload` (paths under `root`); `mismatch` is the message. */
  check(payload: unknown, root: string, mismatch?: string): void;
}

type AjvClass = typeof Ajv | typeof Ajv2019 | typeof Ajv2020;

/** `$schema` values understood, by their id without the trailing `#`; absent means draft-07. */
const DIALECTS: Record<string, { engine: AjvClass; id: string }> = {
  'http://json-schema.org/draft-07/schema': { engine: Ajv, id: 'http://json-schema.org/draft-07/schema#' },
  'https://json-schema.org/draft-07/schema': { engine: Ajv, id: 'http://json-schema.org/draft-07/schema#' },
  // draft-07 only adds keywords to draft-06 (if/then/else, content*): draft-06 schemas run as draft-07.
  'http://json-schema.org/draft-06/schema': { engine: Ajv, id: 'http://json-schema.org/draft-07/schema#' },
  'https://json-schema.org/draft/2019-09/schema': { engine: Ajv2019, id: 'https://json-schema.org/draft/2019-09/schema' },
  'https://json-schema.org/draft/2020-12/schema': { engine: Ajv2020, id: 'https://json-schema.org/draft/2020-12/schema' },
};
const DEFAULT_DIALECT = DIALECTS['http://json-schema.org/draft-07/schema']!;

/** Ajv's regex engine: RE2 (linear time). Ajv passes the `u` flag, which RE2 also takes. */
const re2Engine = Object.assign((pattern: string, flags: string) => new RE2(pattern, flags), { code: 'new (require("re2"))' });

const runsOnRe2 = (pattern: string) => {
  // Compiling is linear too, but a long pattern still costs: bounded like the schema's own.
  if (pattern.length > SCHEMA_LIMITS.maxPatternLength) return false;
  try {
    new RE2(pattern, 'u');
    return true;
  } catch {
    return false;
  }
};

// Keywords whose value is one subschema, an array of them, or a map of them; the rest is data.
const ONE = ['additionalItems', 'additionalProperties', 'contains', 'contentSchema', 'else', 'if', 'items', 'not', 'propertyNames', 'then', 'unevaluatedItems', 'unevaluatedProperties'];
const MANY = ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'];
const MAP = ['$defs', 'definitions', 'dependentSchemas', 'dependencies', 'patternProperties', 'properties'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every subschema object of `root` (the root too) with its path below it, without recursion. */
function subschemas(root: Record<string, unknown>): Array<{ schema: Record<string, unknown>; path: string }> {
  const found: Array<{ schema: Record<string, unknown>; path: string }> = [];
  const stack = [{ schema: root, path: '' }];
  while (stack.length > 0) {
    const at = stack.pop()!;
    found.push(at);
    const { schema, path } = at;
    for (const key of ONE) if (isObject(schema[key])) stack.push({ schema: schema[key] as Record<string, unknown>, path: `${path}.${key}` });
    for (const key of MANY) {
      if (!Array.isArray(schema[key])) continue;
      (schema[key] as unknown[]).forEach((sub, i) => isObject(sub) && stack.push({ schema: sub, path: `${path}.${key}.${i}` }));
    }
    for (const key of MAP) {
      if (!isObject(schema[key])) continue;
      for (const [name, sub] of Object.entries(schema[key] as Record<string, unknown>)) if (isObject(sub)) stack.push({ schema: sub, path: `${path}.${key}.${name}` });
    }
  }
  return found;
}

/** The first regex of the schema RE2 cannot run, with its path: Ajv's meta-schema check skips formats. */
function unrunnablePattern(subs: ReturnType<typeof subschemas>): { path: string; pattern: string } | null {
  for (const { schema, path } of subs) {
    if (typeof schema.pattern === 'string' && !runsOnRe2(schema.pattern)) return { path: `${path}.pattern`, pattern: schema.pattern };
    for (const key of isObject(schema.patternProperties) ? Object.keys(schema.patternProperties) : []) {
      if (!runsOnRe2(key)) return { path: `${path}.patternProperties.${key}`, pattern: key };
    }
  }
  return null;
}

/** Depth of a JSON value, counted without recursion, stopping past `limit`. */
function depthOver(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [at, depth] = stack.pop()!;
    if (typeof at !== 'object' || at === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(at)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Thrown inside a validation once its budget of steps or time is spent. */
class BudgetSpent extends Error {}
let stepsLeft = 0;
let deadline = 0;
let calls = 0;
const spend = (steps: number) => {
  stepsLeft -= steps;
  // The clock is read now and then only: it costs more than a step.
  if (stepsLeft < 0 || ((++calls & 255) === 0 && performance.now() > deadline)) throw new BudgetSpent('validation budget spent');
};
const startBudget = (steps: number) => {
  stepsLeft = steps;
  deadline = performance.now() + SCHEMA_LIMITS.maxMilliseconds;
};

/** Number of JSON values in `value` (itself included), without recursion. */
function valueCount(value: unknown): number {
  let count = 0;
  const stack = [value];
  while (stack.length > 0) {
    const at = stack.pop();
    count++;
    if (typeof at === 'object' && at !== null) stack.push(...Object.values(at));
  }
  return count;
}

/** JSON text with sorted keys: equal JSON values (as JSON Schema defines equality) give equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  return JSON.stringify(value);
}

/** `uniqueItems` in linear time, instead of Ajv's pairwise comparison of objects. */
function uniqueItems(this: unknown, enabled: boolean, data: unknown[]): boolean {
  const validate = uniqueItems as unknown as { errors: Partial<ErrorObject>[] | null };
  validate.errors = null;
  if (!enabled) return true;
  spend(data.length);
  if (data.length > SCHEMA_LIMITS.maxUniqueItems) {
    validate.errors = [{ keyword: 'uniqueItems', message: `uniqueItems is checked on at most ${SCHEMA_LIMITS.maxUniqueItems} items`, params: { limit: SCHEMA_LIMITS.maxUniqueItems } }];
    return false;
  }
  const seen = new Map<string, number>();
  for (let i = 0; i < data.length; i++) {
    const key = canonical(data[i]);
    const first = seen.get(key);
    if (first !== undefined) {
      validate.errors = [{ keyword: 'uniqueItems', message: `must NOT have duplicate items (items ## ${first} and ${i} are identical)`, params: { i: first, j: i } }];
      return false;
    }
    seen.set(key, i);
  }
  return true;
}

/** An Ajv instance of the dialect, with RE2, formats, linear uniqueItems and the budget keyword. */
function engine(dialect: AjvClass, validateSchema: boolean) {
  const ajv = new dialect({ allErrors: true, strict: false, ownProperties: true, validateSchema, code: { regExp: re2Engine } });
  addFormats(ajv);
  ajv.addFormat('regex', { type: 'string', validate: runsOnRe2 });
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword({ keyword: 'uniqueItems', type: 'array', schemaType: 'boolean', errors: true, validate: uniqueItems });
  ajv.addKeyword({ keyword: 'x-evaluation-step', schemaType: 'boolean', errors: false, validate: () => (spend(1), true) });
  return ajv;
}

/** One instance per dialect checks schemas against the meta-schema; it never keeps a tenant's schema. */
const metaValidators = new Map<AjvClass, InstanceType<AjvClass>>();
const metaValidator = (dialect: AjvClass) => {
  let ajv = metaValidators.get(dialect);
  if (!ajv) metaValidators.set(dialect, (ajv = engine(dialect, false)));
  return ajv;
};

/** The property an error is about when Ajv reports it at the parent object (`required`, …). */
function namedProperty(e: ErrorObject): string | undefined {
  const params = e.params as { additionalProperty?: unknown; unevaluatedProperty?: unknown; missingProperty?: unknown; propertyName?: unknown };
  const name = params.additionalProperty ?? params.unevaluatedProperty ?? params.missingProperty ?? params.propertyName;
  return typeof name === 'string' ? name : undefined;
}

const pointerToPath = (pointer: string) => pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')).map((p) => `.${p}`).join('');

/** Ajv's errors as `{path, message}` details, at most maxErrorsListed of them. */
export function errorDetails(errors: ErrorObject[] | null | undefined, root: string) {
  const all = errors ?? [];
  const listed = all.slice(0, SCHEMA_LIMITS.maxErrorsListed).map((e) => {
    // Errors Ajv reports at the parent object (an extra or a missing key) name the key itself.
    const property = namedProperty(e);
    return { path: root + pointerToPath(e.instancePath) + (property === undefined ? '' : `.${property}`), message: e.message ?? 'is invalid', keyword: e.keyword };
  });
  if (all.length > listed.length) listed.push({ path: root, message: `and ${all.length - listed.length} more errors`, keyword: 'errors' });
  return listed;
}

/** Runs `validate` within the budget; a spent budget (or a recursion too deep for the stack) is null. */
function withinBudget(validate: ValidateFunction, data: unknown): boolean | null {
  startBudget(SCHEMA_LIMITS.baseSteps + SCHEMA_LIMITS.stepsPerValue * valueCount(data));
  try {
    return validate(data) as boolean;
  } catch (err) {
    if (err instanceof BudgetSpent || err instanceof RangeError) return null;
    throw err;
  }
}

/** Empty values a schema is run against at save: a schema that cannot check even these in budget never could. */
const PROBES: unknown[] = [null, true, 0, '', [], {}, [[]], { a: {} }];

function refuse(message: string, path: string, detail = message): never {
  throw new ValidationError(message, [{ path, message: detail }]);
}

/**
 * Checks a tenant's schema and compiles it in isolation. Anything the engine cannot run safely is
 * a 422 naming the field (under `path`, e.g. `body.payload_schema`).
 */
export function compilePayloadSchema(schema: unknown, path: string): PayloadSchema {
  if (!isObject(schema)) refuse('payload_schema must be a JSON Schema object', path);
  if (Buffer.byteLength(JSON.stringify(schema)) > SCHEMA_LIMITS.maxBytes) {
    refuse(`payload_schema is larger than ${SCHEMA_LIMITS.maxBytes} bytes of JSON`, path);
  }
  if (depthOver(schema, SCHEMA_LIMITS.maxDepth)) refuse(`payload_schema is nested deeper than ${SCHEMA_LIMITS.maxDepth} levels`, path);
  const declared = schema.$schema;
  if (declared !== undefined && typeof declared !== 'string') refuse('$schema must be a string', `${path}.$schema`);
  const dialect = declared === undefined ? DEFAULT_DIALECT : DIALECTS[declared.replace(/#$/, '')];
  if (!dialect) {
    refuse(`$schema ${declared} is not supported`, `${path}.$schema`, `not supported; use draft-07 (the default), 2019-09 or 2020-12: ${Object.keys(DIALECTS).join(', ')}`);
  }

  const meta = metaValidator(dialect.engine);
  const copy = structuredClone(schema);
  copy.$schema = dialect.id;
  startBudget(Number.MAX_SAFE_INTEGER);
  deadline = Number.POSITIVE_INFINITY;
  if (!meta.validateSchema(copy)) throw new ValidationError('payload_schema is not a valid JSON Schema', errorDetails(meta.errors, path));
  const subs = subschemas(copy);
  const unrunnable = unrunnablePattern(subs);
  if (unrunnable) {
    refuse(`payload_schema has a pattern the regex engine cannot run`, path + unrunnable.path, unrunnable.pattern.length > SCHEMA_LIMITS.maxPatternLength
        ? `longer than ${SCHEMA_LIMITS.maxPatternLength} characters`
        : `${JSON.stringify(unrunnable.pattern.slice(0, 100))} is not a regex RE2 (linear time) runs: no lookaround, no backreferences`);
  }
  for (const { schema: sub } of subs) sub['x-evaluation-step'] = true;

  let validate: ValidateFunction;
  try {
    validate = engine(dialect.engine, false).compile(copy as AnySchemaObject);
  } catch (err) {
    const missing = (err as { missingRef?: string }).missingRef;
    if (missing !== undefined) {
      refuse(`payload_schema refers to ${missing}`, path, `$ref ${missing} does not resolve: a schema is self-contained (no remote schemas, no other schema's $id)`);
    }
    refuse('payload_schema cannot be compiled', path, err instanceof RangeError ? 'nested or recursive too deeply to compile' : err instanceof Error ? err.message : String(err));
  }
  if ((validate as { $async?: boolean }).$async) refuse('$async schemas are not supported', `${path}.$async`);
  if (PROBES.some((probe) => withinBudget(validate, probe) === null)) {
    refuse('payload_schema is too costly to run', path, `checking an empty value takes more than ${SCHEMA_LIMITS.baseSteps} steps: a $ref or combinator loops or branches without end`);
  }

  return {
    check(payload, root, mismatch = `${root} does not match payload_schema`) {
      const valid = withinBudget(validate, payload);
      if (valid === null) {
        throw new AppError(422, 'schema_too_costly', `checking this payload against its schema takes more than ${SCHEMA_LIMITS.baseSteps} steps plus ${SCHEMA_LIMITS.stepsPerValue} per value, or ${SCHEMA_LIMITS.maxMilliseconds} ms`);
      }
      if (!valid) throw new ValidationError(mismatch, errorDetails(validate.errors, root));
    },
  };
}

/** Compiled schemas of the catalog, per tenant, event type and version. */
const compiled = new LRUCache<string, PayloadSchema>({ max: 500 });

/**
 * The compiled schema of a stored event type, from the cache. A schema stored before today's
 * checks that they refuse answers 422 `invalid_payload_schema` (fix it with a PUT).
 */
export function storedPayloadSchema(tenantId: string, type: { id: string; name: string; updated_at: Date | string; payload_schema: unknown }): PayloadSchema {
  const key = `${tenantId}\u0000${type.id}\u0000${new Date(type.updated_at).getTime()}`;
  let found = compiled.get(key);
  if (!found) {
    try {
      found = compilePayloadSchema(type.payload_schema, 'payload_schema');
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      throw new AppError(422, 'invalid_payload_schema', `the payload_schema of ${type.name} cannot be used (${err.message}); replace it with PUT /event-types/${type.name}`, err.details);
    }
    compiled.set(key, found);
  }
  return found;
}
