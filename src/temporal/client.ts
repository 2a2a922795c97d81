import { Client, Connection, defaultGrpcRetryOptions, isGrpcServiceError, makeGrpcRetryInterceptor, type ConnectionLike } from '@temporalio/client';
import { holdHandoff } from '../../activities/handed-attempts';
import type { Config } from '../config';
import type { Tracing } from '../tracing';
import { directStarts, type StartDeliveries } from './delivery-workflows';
import { dataConverter } from './payload-codec';
import { tracingClientInterceptors } from './tracing';
import { EAGER_ROOM_WAIT_MS, type WorkflowTaskSlots } from './workflow-task-slots';

/** Connection options shared by the client and the worker (TLS and API key for clusters/Cloud). */
export function connectionOptions(config: Config, address: string) {
  return {
    address,
    tls: config.TEMPORAL_TLS || config.TEMPORAL_API_KEY ? {} : undefined,
    apiKey: config.TEMPORAL_API_KEY,
  };
}

/**
 * gRPC retries of the API's client: a few (about a second), not the SDK's ten (about 20 s), so a
 * request that needs Temporal while it is down gets its 503 and `Retry-After` in time; the
 * client retries, and stored events are dispatched by the housekeeping sweep anyway.
 */
export function apiGrpcInterceptors() {
  return [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 4 }))];
}

/**
 * Connects a Temporal client to `address` (the configured one, or the dev server's); with
 * `tracing`, the workflows it starts continue the caller's trace.
 */
export async function connectClient(config: Config, address: string, tracing: Tracing | null = null): Promise<Client> {
  const connection = await Connection.connect({ ...connectionOptions(config, address), interceptors: apiGrpcInterceptors() });
  return clientOn(config, connection, tracing);
}

/**
 * A client on a connection of the caller's: a worker's `NativeConnection` gives one that can
 * start workflows eagerly on that worker (see `dispatchDeliveries`).
 */
export function clientOn(config: Config, connection: ConnectionLike, tracing: Tracing | null = null): Client {
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverter(config), interceptors: tracingClientInterceptors(tracing) });
}

/**
 * Delivery starts made eagerly on the worker of `connection` (its own `NativeConnection`): what
 * `npm start`'s API and a worker's start relay start deliveries with. What ingest handed over for
 * the deliveries' first attempts is held for them in this process. Given the worker's `slots`,
 * the starts first wait (up to {@link EAGER_ROOM_WAIT_MS}) until it has room for them, so a
 * saturated worker takes them eagerly instead of leaving them queued on the server.
 */
export function eagerStarts(config: Config, connection: ConnectionLike, slots: WorkflowTaskSlots | null, tracing: Tracing | null = null): StartDeliveries {
  const direct = directStarts(clientOn(config, connection, tracing), config.TEMPORAL_TASK_QUEUE, true);
  // What ingest read for the first attempts waits here for them (see holdHandoff).
  const start: StartDeliveries = (starts) => {
    for (const s of starts) if (s.handoff) holdHandoff(s.input, s.handoff);
    return direct(starts);
  };
  if (!slots) return start;
  return async (starts) => {
    const room = await slots.room(starts.length, EAGER_ROOM_WAIT_MS);
    try {
      return await start(starts);
    } finally {
      room.done();
    }
  };
}

/** gRPC status codes UNAVAILABLE (14) and DEADLINE_EXCEEDED (4). */
const GRPC_UNAVAILABLE_CODES = new Set([14, 4]);

/**
 * True when Temporal could not be reached or did not answer in time (gRPC UNAVAILABLE or
 * DEADLINE_EXCEEDED, on the error or its cause): the API answers 503, not 500.
 */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let current = err, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(current) && GRPC_UNAVAILABLE_CODES.has(current.code)) return true;
  }
  return false;
}
