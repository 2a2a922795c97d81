import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';
import type { Tracing } from '../tracing';

/**
 * The SDK's workflow interceptors (spans for the run, its activities, local ones included, and
 * its child workflows). They run inside the workflow sandbox, so they are part of the workflow
 * bundle: a worker bundles them from `workflowsPath`; a prebuilt bundle must list this module in
 * `workflowInterceptorModules`.
 */
export const TRACING_WORKFLOW_MODULE = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** The client's interceptors: starting (or signalling) a workflow carries the caller's span in its headers. */
export function tracingClientInterceptors(tracing: Tracing | null): { workflow: WorkflowClientInterceptor[] } | undefined {
  if (!tracing) return undefined;
  // Loaded only with tracing on, as the OpenTelemetry SDK is (src/tracing.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { OpenTelemetryWorkflowClientInterceptor } = require('@temporalio/interceptors-opentelemetry/lib/client') as typeof import('@temporalio/interceptors-opentelemetry/lib/client');
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer })] };
}

/**
 * What a worker adds when tracing is on: the activity interceptors (a span per activity, under the
 * span its workflow passed in the headers), the workflow interceptors, and the sink through which
 * spans made in the sandbox reach the span processor.
 */
export function tracingWorkerOptions(tracing: Tracing | null): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  if (!tracing) return {};
  // Loaded only with tracing on: it brings the OpenTelemetry SDK's span classes with it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor } = require('@temporalio/interceptors-opentelemetry/lib/worker') as typeof import('@temporalio/interceptors-opentelemetry/lib/worker');
  return {
    interceptors: {
      workflowModules: [TRACING_WORKFLOW_MODULE],
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer: tracing.tracer }),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}
