/**
 * Runs `work` with a signal that aborts after `ms` as `AbortSignal.timeout(ms)` does (with a
 * `TimeoutError`), and clears its timer as soon as `work` settles.
 *
 * `AbortSignal.timeout`'s timer runs its whole term whatever becomes of the request, and a timer
 * holds the async context it was made in. Made in an activity, that is the SDK's activity context
 * (the activity, its logger, metric meter, abort controller and heartbeat): every delivery's stayed
 * on the worker's heap for the send timeout after it had ended, outlived two scavenges and was
 * promoted, left for a full collection (docs/benchmark.md, fortieth session).
 */
export async function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
  // Like AbortSignal.timeout's: a request in flight does not keep the process alive by itself.
  timer.unref();
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}
