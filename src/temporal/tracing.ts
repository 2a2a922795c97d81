import type { WorkflowClientInterceptor } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/worker';
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
  return tracing ? { workflow: [new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer })] } : undefined;
}

/**
 * What a worker adds when tracing is on: the activity interceptors (a span per activity, under the
 * span its workflow passed in the headers), the workflow interceptors, and the sink through which
 * spans made in the sandbox reach the span processor.
 */
export function tracingWorkerOptions(tracing: Tracing | null): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  if (!tracing) return {};
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
