import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createLogger } from '../../src/logger';
import { bundleWorkflowsApart, type BuiltBundle } from '../../src/temporal/workflow-bundle';
import { startTracing, type Tracing } from '../../src/tracing';
import { Receiver } from '../helpers/receiver';
import { eventually, startStack, stopAll, type Stack } from '../helpers/stack';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let stack: Stack;
/** The same, its API handing the delivery starts to the worker's start relay (WORKER_START_URLS). */
let relayStack: Stack;
let receiver: Receiver;
let bundle: BuiltBundle;

beforeAll(async () => {
  tracing = startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_SERVICE_NAME: 'tracing-test' }, { spanProcessor: new SimpleSpanProcessor(exporter) })!;
  // Workflow interceptors run in the sandbox: bundled as a worker with tracing bundles them.
  bundle = await bundleWorkflowsApart(createLogger('silent'), { tracing: true });
  receiver = await Receiver.start();
  stack = await startStack({ tracing, workflowBundlePath: bundle.codePath });
  relayStack = await startStack({ tracing, workflowBundlePath: bundle.codePath, relay: true, env: { DEFAULT_TENANT_ID: 'tracing_relay' } });
}, 180_000);
afterAll(async () => {
  await relayStack?.stop();
  await stopAll(stack, receiver);
  await tracing?.shutdown();
  await bundle?.remove();
});

const hex = (n: number) => new RegExp(`^[0-9a-f]{${n}}$`);

describe('when tracing is on and an event is ingested', () => {
  it.each([
    ['its own client', '/traced', () => stack],
    ["a worker's start relay", '/traced-relay', () => relayStack],
  ])('then, started through %s, one trace runs from the ingest request through the workflow and its attempt to the receiver, which gets traceparent', async (_via, path, on) => {
    const type = 'traced.created';
    const created = await on().call('POST', '/api/v1/endpoints', { url: receiver.url + path, events: [type] });
    expect(created.status).toBe(201);
    const sent = await on().call('POST', '/api/v1/events', { type, payload: { n: 1 } });
    expect(sent.status).toBe(202);
    const [request] = await receiver.waitForRequests(1, 30_000, path);

    const traceparent = String(request!.headers.traceparent);
    const [version, traceId, parentSpanId, flags] = traceparent.split('-');
    expect([version, flags]).toEqual(['00', '01']);
    expect(traceId).toMatch(hex(32));
    expect(parentSpanId).toMatch(hex(16));

    // The spans of that trace, once the outbound request's span has ended.
    const spans = await eventually(async () => {
      const all = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      return all.some((s) => s.spanContext().spanId === parentSpanId) && all.some((s) => s.name.startsWith('RunActivity')) ? all : undefined;
    }, 30_000, 'the trace to be exported');
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const parentOf = (s: ReadableSpan) => byId.get(s.parentSpanId ?? '');

    // From the receiver's parent span up to the root: the chain of steps.
    const chain: string[] = [];
    for (let span = byId.get(parentSpanId!); span; span = parentOf(span)) chain.unshift(span.name);
    expect(chain).toEqual([
      'POST /api/v1/events',
      'StartWorkflow:deliveryWorkflow',
      'RunWorkflow:deliveryWorkflow',
      'StartActivity:deliverAttempt',
      'RunActivity:deliverAttempt',
      'POST',
    ]);
    const outbound = byId.get(parentSpanId!)!;
    expect(outbound.attributes).toMatchObject({ 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'http.response.status_code': 200 });
    const root = spans.find((s) => s.name === 'POST /api/v1/events')!;
    expect(root.parentSpanId).toBeUndefined();
    expect(root.attributes).toMatchObject({ 'http.route': '/api/v1/events', 'http.response.status_code': 202 });
  });

  it('then a caller that sends traceparent has the ingest request joined to its trace', async () => {
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const type = 'traced.joined';
    await stack.call('POST', '/api/v1/endpoints', { url: receiver.url + '/joined', events: [type] });
    await stack.call('POST', '/api/v1/events', { type, payload: { n: 2 } }, { headers: { traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` } });
    const [request] = await receiver.waitForRequests(1, 30_000, '/joined');
    expect(String(request!.headers.traceparent).split('-')[1]).toBe(callerTrace);
  });
});
