/**
 * What an error from the Event Hubs SDK (a MessagingError from @azure/core-amqp, a Node
 * system error, an abort) means for a batch. Plain property checks: no SDK import here.
 *
 * Almost everything is retryable: the forwarder resends the same batch later, and audit
 * records are never dead-lettered because the hub is down, throttled, misconfigured or
 * unauthorised. Errors a human must fix are retried slowly.
 */

export type EventHubsFailure =
  | {
      kind: 'retryable';
      retryAfterMs?: number;
      /** The connection is unusable: drop the client, the next attempt builds a fresh one. */
      resetClient: boolean;
      /** A short explanation without secrets, for outcomes and healthchecks. */
      reason: string;
      /** A human must fix something: the credentials, or the namespace / hub names. */
      operator?: 'credentials' | 'entity';
    }
  /** The service refused an event as too large although it fitted the batch: shrink bodies and resend. */
  | { kind: 'too-large'; reason: string };

interface MessagingErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  retryable?: unknown;
  retryAfterInMs?: unknown;
}

/** Errors a human must fix (credentials, a missing hub): retried, but slowly. */
export const OPERATOR_RETRY_AFTER_MS = 30_000;
/** The service throttles for seconds; Event Hubs' own guidance waits about 4 s after ServerBusy. */
export const SERVER_BUSY_RETRY_AFTER_MS = 4_000;

const CONNECTION_CODES = new Set([
  'ConnectionForcedError', 'ConnectionLostError', 'ConnectionRedirectError', 'ConnectionFramingError',
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND',
  'DetachForcedError', 'SessionError',
]);
const BUSY_CODES = new Set(['ServerBusyError', 'QuotaExceededError', 'SenderBusyError']);
const UNAVAILABLE_CODES = new Set(['ServiceUnavailableError', 'OperationTimeoutError', 'InternalServerError', 'TimeoutError', 'AbortError']);
const OPERATOR_CODES = new Set(['UnauthorizedError', 'ServiceCommunicationError', 'MessagingEntityNotFoundError', 'MessagingEntityDisabledError', 'ArgumentError', 'CredentialUnavailableError', 'AuthenticationRequiredError']);

function codeOf(error: MessagingErrorLike): string {
  if (typeof error.code === 'string' && error.code !== '') return error.code;
  return typeof error.name === 'string' ? error.name : 'Error';
}

/**
 * The error that says what happened: the SDK's retry throws an AggregateError of every
 * attempt's error when all attempts fail; the last attempt is the current state.
 */
export function lastAttemptError(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5; depth++) {
    const inner = (current as { errors?: unknown } | null)?.errors;
    if (!Array.isArray(inner) || inner.length === 0) break;
    current = inner[inner.length - 1];
  }
  return current;
}

export function classifyEventHubsError(error: unknown): EventHubsFailure {
  const last = lastAttemptError(error);
  const e = (typeof last === 'object' && last !== null ? last : { message: String(last) }) as MessagingErrorLike;
  const code = codeOf(e);
  const retryAfterMs = typeof e.retryAfterInMs === 'number' && e.retryAfterInMs >= 0 ? e.retryAfterInMs : undefined;
  if (code === 'MessageTooLargeError') return { kind: 'too-large', reason: 'the service refused an event as larger than the hub allows' };
  if (CONNECTION_CODES.has(code)) return { kind: 'retryable', resetClient: true, reason: `connection lost or refused (${code})` };
  if (BUSY_CODES.has(code)) {
    return { kind: 'retryable', resetClient: false, retryAfterMs: retryAfterMs ?? SERVER_BUSY_RETRY_AFTER_MS, reason: `the hub is throttling (${code})` };
  }
  if (UNAVAILABLE_CODES.has(code)) return { kind: 'retryable', resetClient: false, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), reason: `the service is unavailable or timed out (${code})` };
  if (OPERATOR_CODES.has(code)) {
    const credentials = code === 'UnauthorizedError' || code === 'CredentialUnavailableError' || code === 'AuthenticationRequiredError';
    const what = credentials ? 'the credentials were refused or are unavailable' : 'the namespace or hub was not found or cannot be used';
    return { kind: 'retryable', resetClient: true, retryAfterMs: OPERATOR_RETRY_AFTER_MS, reason: `${what} (${code})`, operator: credentials ? 'credentials' : 'entity' };
  }
  // Unknown errors: still retryable (never drop a record over an unexplained fault), with a fresh client.
  return { kind: 'retryable', resetClient: true, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), reason: `unexpected error (${code})` };
}
