/**
 * The one retry policy of the forwarder: a chunk a destination answers `retryable` is sent
 * again after `backoffDelay` (exponential backoff with full jitter, never shorter than the
 * server's retry-after), with no deadline and no attempt limit: it is retried until it is
 * delivered, or refused for good (then dead-lettered), or its pipeline stops or loses the
 * partition (then it is left uncommitted and delivered again). Dead-letter writes wait the
 * same way. Sinks only classify errors and read retry-after headers (`parseRetryAfter`).
 */

/** Backoff between resends; both bounds are before jitter. */
export interface RetryOptions {
  /** Ceiling of the first delay (default 200 ms; the forwarder uses 500 ms). */
  initialDelayMs?: number;
  /** Ceiling the doubling stops at (default 30 s). */
  maxDelayMs?: number;
}

/**
 * The wait before resend number `attempt` (1 = the first resend): a random share of
 * `initialDelayMs · 2^(attempt-1)`, capped at `maxDelayMs`, and at least `retryAfterMs`.
 */
export function backoffDelay(attempt: number, options: RetryOptions = {}, retryAfterMs?: number, random: () => number = Math.random): number {
  const initial = options.initialDelayMs ?? 200;
  const max = options.maxDelayMs ?? 30_000;
  const ceiling = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(ceiling * random());
  // A server's retry-after is a floor: waiting less would only be throttled again.
  return retryAfterMs !== undefined ? Math.max(retryAfterMs, jittered) : Math.max(1, jittered);
}

/**
 * Parses an HTTP `retry-after` header (seconds or an HTTP date) into milliseconds. Not for
 * `retry-after-ms`, whose value is already milliseconds.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
