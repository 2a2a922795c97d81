import { z } from 'zod';
import { OPERATIONAL_EVENT_TYPES } from '../domain/operational-events';
import type { RouteTable } from './route-table';

type JsonSchema = Record<string, unknown>;

const toSchema = (schema: z.ZodType): JsonSchema => {
  const out = z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input', target: 'draft-2020-12' }) as JsonSchema;
  delete out.$schema;
  return out;
};

const envelopeError = {
  description: 'Error envelope',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['ok', 'err', 'msg'],
        properties: { ok: { const: false }, err: { type: 'string' }, msg: { type: 'string' }, details: { type: 'array', items: { type: 'object' } } },
      },
    },
  },
};

/**
 * The operational events (OpenAPI 3.1 `webhooks`): what an endpoint with `kind: "operational"`
 * receives, signed like any delivery, as `{id, type, timestamp, data}`.
 */
function operationalWebhooks(): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(OPERATIONAL_EVENT_TYPES).map(([type, t]) => {
      const { $schema: _draft, ...data } = t.schema as Record<string, unknown>;
      const body = {
        type: 'object',
        required: ['id', 'type', 'timestamp', 'data'],
        properties: { id: { type: 'string' }, type: { const: type }, timestamp: { type: 'string', format: 'date-time' }, data },
      };
      return [type, { post: { summary: t.description, tags: ['operational-webhooks'], requestBody: { required: true, content: { 'application/json': { schema: body, example: { id: 'evt_…', type, timestamp: '2026-01-01T00:00:00.000Z', data: t.example } } } }, responses: { '2XX': { description: 'Received' } } } }];
    }),
  );
}

/** `/endpoints/:id` → `/endpoints/{id}`. */
const openApiPath = (base: string, path: string) => (base + (path === '/' ? '' : path)).replace(/:([A-Za-z_]+)/g, '{$1}');

/**
 * The OpenAPI 3.1 document of `/api/v1`, built from the route tables: the schemas that validate
 * requests are the ones documented, so the two cannot drift.
 */
export function buildOpenApi(tables: RouteTable[], version: string, extraPaths: Record<string, unknown> = {}): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = { ...(extraPaths as Record<string, Record<string, unknown>>) };
  for (const table of tables) {
    for (const spec of table.specs) {
      const parameters: unknown[] = [];
      for (const [where, schema] of [['path', spec.params], ['query', spec.query]] as const) {
        if (!schema) continue;
        const json = toSchema(schema);
        const required = new Set((json.required as string[] | undefined) ?? []);
        for (const [name, property] of Object.entries((json.properties as Record<string, JsonSchema>) ?? {})) {
          parameters.push({ name, in: where, required: where === 'path' || required.has(name), schema: property });
        }
      }
      const status = String(spec.status ?? 200);
      paths[openApiPath(table.base, spec.path)] ??= {};
      paths[openApiPath(table.base, spec.path)]![spec.method] = {
        operationId: `${spec.method}${openApiPath(table.base, spec.path).replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
        summary: spec.summary,
        tags: [table.tag],
        'x-required-scope': spec.scope,
        security: [{ bearer: [] }],
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(spec.body) } } } } : {}),
        responses: {
          [status]: spec.raw && spec.produces
            ? { description: `Success: ${spec.produces}`, content: { [spec.produces]: { schema: { type: 'string' } } } }
            : spec.raw
            ? { description: 'Success (JSON envelope, or CSV when format=csv)' }
            : {
                description: 'Success envelope',
                content: { 'application/json': { schema: { type: 'object', required: ['ok', 'data'], properties: { ok: { const: true }, data: {} } } } },
              },
          '4XX': envelopeError,
          '5XX': envelopeError,
        },
      };
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'temporal-webhooks', version, description: 'Durable, signed webhook delivery on Temporal.' },
    servers: [{ url: '/api/v1' }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Tenant routes: API key (whk_…), JWT, introspected token or the bootstrap token. Platform routes (x-required-scope tenants:* or platform-keys:manage): platform key (whp_…) or PLATFORM_API_TOKEN.' } } },
    paths,
    webhooks: operationalWebhooks(),
  };
}
