import { z } from 'zod';
import type { CustomTemplate, EndpointTemplate, SlackTemplate } from '../domain/endpoint';
import { placeholderProblems } from './placeholders';
import { renderJsonTemplate, renderTemplate } from './render';

/**
 * Integration kinds: an integration is an endpoint whose body is rendered from a template. The
 * zod schemas below validate `template` on save, and the catalog (`GET /integrations`) is read
 * from the same schemas, so what is documented is what is accepted.
 */

/** Longest template text (Slack `text`, custom `body`), in characters. */
export const TEMPLATE_MAX_LENGTH = 16_384;

/** What the catalog says a field holds. */
type FieldType = 'string' | 'text_template' | 'json_template';

/** Documents a field for the catalog (and the OpenAPI document, which shows the same metadata). */
const field = <S extends z.ZodType>(schema: S, type: FieldType, description: string): S =>
  schema.meta({ description, 'x-field-type': type });

function checkPlaceholders(text: string, ctx: z.RefinementCtx): boolean {
  const problems = placeholderProblems(text);
  for (const message of problems.slice(0, 10)) ctx.addIssue({ code: 'custom', message });
  return problems.length === 0;
}

const textTemplate = z
  .string()
  .min(1)
  .max(TEMPLATE_MAX_LENGTH)
  .superRefine((text, ctx) => {
    if (text.length <= TEMPLATE_MAX_LENGTH) checkPlaceholders(text, ctx);
  });

const jsonTemplate = z
  .string()
  .min(1)
  .max(TEMPLATE_MAX_LENGTH)
  .superRefine((body, ctx) => {
    if (body.length > TEMPLATE_MAX_LENGTH || !checkPlaceholders(body, ctx)) return;
    // Rendered with every value missing, then with every value the text "x": a placeholder that
    // stands for a value then holds `null` or "x", and one inside a string holds nothing or a
    // character no JSON escape accepts (so an escape cut by a placeholder shows). If both are
    // JSON, every event renders JSON: real values only take those places, JSON-escaped.
    try {
      for (const probe of [undefined, 'x']) JSON.parse(renderJsonTemplate(body, () => probe, Number.MAX_SAFE_INTEGER));
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `is not valid JSON once its placeholders are substituted (${(err as Error).message})` });
    }
  });

const slackTemplate = z
  .object({
    kind: z.literal('slack'),
    text: field(textTemplate, 'text_template', 'Message text. {{placeholders}} are replaced by the event values as text, with &, < and > escaped for Slack.'),
    username: field(z.string().min(1).max(80).optional(), 'string', 'Name the message is posted as (legacy incoming webhooks honour it; app webhooks ignore it).'),
    icon_emoji: field(
      z.string().max(100).regex(/^:[A-Za-z0-9_+'-]+:$/, 'an emoji name between colons, like :bell:').optional(),
      'string',
      'Emoji shown as the icon, like :bell: (legacy incoming webhooks honour it; app webhooks ignore it).',
    ),
  })
  .strict();

const customTemplate = z
  .object({
    kind: z.literal('custom'),
    body: field(
      jsonTemplate,
      'json_template',
      'A JSON document, as a string. "{{path}}" as a whole string value becomes the JSON value itself (null when missing); inside a longer string it becomes the value as text, JSON-escaped.',
    ),
  })
  .strict();

/** An endpoint's `template`: what its body is rendered from (validated on save, 422 naming the field). */
export const templateSchema = z.discriminatedUnion('kind', [slackTemplate, customTemplate]);

// The schemas accept exactly the shapes the rest of the service works with.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const sameShapes: [Same<z.infer<typeof slackTemplate>, SlackTemplate>, Same<z.infer<typeof customTemplate>, CustomTemplate>] = [true, true];
void sameShapes;

interface KindInfo {
  schema: typeof slackTemplate | typeof customTemplate;
  display_name: string;
  description: string;
  /** What the endpoint's own `url` is for this kind. */
  url: string;
  example: { url: string; event: { type: string; payload: Record<string, unknown> }; template: EndpointTemplate };
}

const EXAMPLE_EVENT = {
  type: 'order.created',
  payload: { order: { id: 'ord_1001', total: 149.9, currency: 'EUR' }, customer: { name: 'Ada & Co <ops>' }, items: [{ sku: 'A-1', qty: 2 }] },
};

const KINDS: Record<EndpointTemplate['kind'], KindInfo> = {
  slack: {
    schema: slackTemplate,
    display_name: 'Slack',
    description: 'Posts a message to a Slack channel through an incoming webhook.',
    url: 'the incoming-webhook URL Slack gives you (https://hooks.slack.com/services/…)',
    example: {
      url: 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
      event: EXAMPLE_EVENT,
      template: { kind: 'slack', text: 'New order {{data.order.id}} from {{data.customer.name}}: {{data.order.total}} {{data.order.currency}}', username: 'Orders', icon_emoji: ':package:' },
    },
  },
  custom: {
    schema: customTemplate,
    display_name: 'Custom JSON',
    description: 'Sends a JSON body of your own shape, built from the event with {{placeholders}}.',
    url: 'any http(s) URL that accepts the rendered JSON',
    example: {
      url: 'https://hooks.example.com/orders',
      event: EXAMPLE_EVENT,
      template: { kind: 'custom', body: '{"event": "{{type}}", "order": "{{data.order.id}}", "total": "{{data.order.total}}", "lines": "{{data.items}}", "note": "for {{data.customer.name}}"}' },
    },
  },
};

/** The fields of a kind's template, read from its schema. */
function fieldsOf(schema: KindInfo['schema']) {
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, s]) => {
    const meta = (s.meta() ?? {}) as { description?: string; 'x-field-type'?: FieldType };
    return name === 'kind'
      ? { name, type: 'string', required: true, description: 'The integration kind.' }
      : { name, type: meta['x-field-type'] ?? 'string', required: !s.isOptional(), description: meta.description ?? '' };
  });
}

/** One catalog entry: the kind, its fields, and a worked example (endpoint, event and the body it renders). */
function catalogEntry(kind: EndpointTemplate['kind'], info: KindInfo) {
  const { event, template, url } = info.example;
  const envelope = { id: 'evt_01JEXAMPLE0000000000000000', type: event.type, timestamp: '2026-01-15T10:30:00.000Z', data: event.payload };
  return {
    kind,
    display_name: info.display_name,
    description: info.description,
    url: info.url,
    fields: fieldsOf(info.schema),
    example: {
      endpoint: { url, events: [event.type], template },
      event,
      body: JSON.parse(renderTemplate(template, envelope, Number.MAX_SAFE_INTEGER)) as unknown,
    },
  };
}

/** The integration catalog, built once; its examples are rendered by the renderer deliveries use. */
export const INTEGRATION_CATALOG = Object.freeze(Object.entries(KINDS).map(([kind, info]) => catalogEntry(kind as EndpointTemplate['kind'], info)));
