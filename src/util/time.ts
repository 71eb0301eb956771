/**
 * Waiting, the one way the project does it: a sleep an abort cuts short, a promise with a
 * time limit that rejects, and one whose lateness is only reported. Timers are always
 * cleared, so none of these keeps the process alive after the fact.
 */

/**
 * Waits `ms`, or less when `abortSignal` aborts first (also when it is aborted already).
 * Never rejects: a caller that must tell the two apart checks `abortSignal.aborted` after.
 */
export function sleep(ms: number, abortSignal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (abortSignal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      abortSignal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    abortSignal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * `promise`'s result, or a rejection with `onTimeout()`'s error when it has not settled within
 * `ms` (the promise itself is left running: there is nothing to cancel it with).
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(onTimeout()), ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * True when `promise` settles (either way) within `ms`, false otherwise; never rejects. For
 * shutdown steps that must not hang a stop but whose failure is already handled or logged.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return withTimeout(promise.then(() => true, () => true), ms, () => new Error('timeout')).catch(() => false);
}
