/**
 * `promise`, or a rejection with `late()` once `ms` have passed without it settling. The timer is
 * cleared when the promise settles and never keeps the process alive on its own.
 */
export function within<T>(promise: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
