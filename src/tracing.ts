import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-node';
import type { Config } from './config';

/** The name spans of this service are made under. */
export const TRACER_NAME = 'temporal-webhooks';

/**
 * OpenTelemetry tracing of one process, registered globally (context manager, W3C trace context
 * propagator, tracer provider). The API, the Temporal client and worker interceptors, and the
 * outbound request all make their spans through it.
 */
export interface Tracing {
  resource: Resource;
  spanProcessor: SpanProcessor;
  tracer: Tracer;
  shutdown(): Promise<void>;
}

/**
 * Starts tracing when an exporter is configured (`OTEL_EXPORTER_OTLP_ENDPOINT`), or when a span
 * processor is given (tests: an in-memory exporter). Otherwise answers null and installs nothing:
 * no interceptor, no middleware, no span, so tracing off costs nothing.
 */
export function startTracing(
  config: Pick<Config, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_SERVICE_NAME'>,
  options: { spanProcessor?: SpanProcessor; serviceName?: string } = {},
): Tracing | null {
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint && !options.spanProcessor) return null;
  // The SDK is loaded only here: a process without tracing holds none of its modules.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { Resource } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { BatchSpanProcessor, NodeTracerProvider } = require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const spanProcessor = options.spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint!.replace(/\/+$/, '')}/v1/traces` }));
  const resource = new Resource({ 'service.name': options.serviceName ?? config.OTEL_SERVICE_NAME });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // AsyncLocalStorage context and the W3C `traceparent` propagator, for the whole process.
  provider.register();
  return {
    resource,
    spanProcessor,
    tracer: trace.getTracer(TRACER_NAME),
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
