/**
 * One retry policy for every sink: exponential backoff with full jitter, honouring a
 * server's retry-after, stopping at a deadline or on abort. Sinks only classify errors.
 */
import { InsightLogsError } from '../errors.js';

export interface RetryOptions {
  /** First delay before jitter. */
  initialDelayInMs?: number;
  maxDelayInMs?: number;
  /** Give up after this long (measured from the first attempt); Infinity retries forever. */
  deadlineInMs?: number;
  maxAttempts?: number;
  abortSignal?: AbortSignal;
  /** Called before each wait, e.g. to count retries or heartbeat a consumer. */
  onRetry?: (info: { attempt: number; delayInMs: number; error: unknown }) => void | Promise<void>;
  random?: () => number;
}

/** What a classifier says of an error. */
export interface Classification {
  retryable: boolean;
  retryAfterMs?: number;
}

export function backoffDelay(attempt: number, options: RetryOptions = {}, retryAfterMs?: number): number {
  const initial = options.initialDelayInMs ?? 200;
  const max = options.maxDelayInMs ?? 30_000;
  const ceiling = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(ceiling * (options.random ?? Math.random)());
  // A server's retry-after is a floor: waiting less would only be throttled again.
  return retryAfterMs !== undefined ? Math.max(retryAfterMs, jittered) : Math.max(1, jittered);
}

export function sleep(ms: number, abortSignal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (abortSignal?.aborted) return reject(new InsightLogsError('ABORTED', 'aborted'));
    const timer = setTimeout(() => {
      abortSignal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new InsightLogsError('ABORTED', 'aborted'));
    };
    abortSignal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `operation` until it succeeds, the classifier says an error is not retryable, the
 * deadline passes or the signal aborts. The last error is rethrown (DEADLINE_EXCEEDED wraps it).
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  classify: (error: unknown) => Classification,
  options: RetryOptions = {},
): Promise<T> {
  const started = Date.now();
  const deadline = options.deadlineInMs ?? Infinity;
  const maxAttempts = options.maxAttempts ?? Infinity;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const { retryable, retryAfterMs } = classify(error);
      if (!retryable || attempt >= maxAttempts) throw error;
      const delayInMs = backoffDelay(attempt, options, retryAfterMs);
      if (Date.now() - started + delayInMs > deadline) {
        throw new InsightLogsError('DEADLINE_EXCEEDED', `gave up after ${attempt} attempts in ${Date.now() - started} ms`, { cause: error, retryable: true });
      }
      await options.onRetry?.({ attempt, delayInMs, error });
      await sleep(delayInMs, options.abortSignal);
    }
  }
}

/** Parses an HTTP retry-after header (seconds or HTTP date) or `retry-after-ms` into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
