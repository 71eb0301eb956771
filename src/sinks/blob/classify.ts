/**
 * What an error from the storage SDK (a RestError from @azure/core-rest-pipeline, a Node
 * system error, an abort) means for the sink. Plain property checks: no SDK import here.
 *
 * Everything transport- or service-side is retryable: the forwarder resends the batch
 * later, so audit records are never dead-lettered because storage is down, throttled,
 * misconfigured or refuses our credentials (a human can fix those without losing data).
 */
import { parseRetryAfter } from '../retry.js';

export type BlobFailure =
  /** 412 AppendPositionConditionNotMet: the blob is not as long as we thought (maybe our last try landed). */
  | { kind: 'position-mismatch' }
  /** The blob cannot take more blocks or bytes: roll to a continuation blob. */
  | { kind: 'blob-full'; reason: string }
  /** The blob or its container vanished (deleted by someone): recreate and go on. */
  | { kind: 'missing'; what: 'blob' | 'container' }
  | { kind: 'retryable'; reason: string; retryAfterMs?: number; operator: boolean };

interface RestErrorLike {
  name?: unknown;
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  response?: { headers?: { get?(name: string): string | undefined } };
}

/** Someone must fix credentials or names: retried, but slowly. */
export const OPERATOR_RETRY_AFTER_MS = 30_000;

const CONNECTION_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  UND_ERR_SOCKET: 'connection lost',
};

function header(error: RestErrorLike, name: string): string | undefined {
  try {
    return error.response?.headers?.get?.(name) ?? undefined;
  } catch {
    return undefined;
  }
}

/** The storage error code: from the body (`code`) or, for HEAD requests without a body, the x-ms-error-code header. */
function storageCode(error: RestErrorLike): string {
  if (typeof error.code === 'string' && error.code !== '') return error.code;
  return header(error, 'x-ms-error-code') ?? (typeof error.name === 'string' ? error.name : 'Error');
}

/** The Node error code of a network failure, looking through `cause` chains. */
function networkCode(error: unknown): string | undefined {
  let current = error as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (typeof current.code === 'string' && current.code in CONNECTION_CODES) return current.code;
    current = current.cause as typeof current;
  }
  const message = error instanceof Error ? error.message : String(error);
  return Object.keys(CONNECTION_CODES).find((code) => message.includes(code));
}

export function classifyBlobError(error: unknown): BlobFailure {
  const e = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as RestErrorLike;
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const code = storageCode(e);
  if (code === 'AppendPositionConditionNotMet') return { kind: 'position-mismatch' };
  if (code === 'MaxBlobSizeConditionNotMet' || code === 'BlockCountExceedsLimit') return { kind: 'blob-full', reason: code };
  if (code === 'BlobNotFound') return { kind: 'missing', what: 'blob' };
  if (code === 'ContainerNotFound') return { kind: 'missing', what: 'container' };
  const net = networkCode(error);
  if (net) return { kind: 'retryable', operator: false, reason: CONNECTION_CODES[net]! };
  if (status === 429 || status === 503 && code === 'ServerBusy') {
    // retry-after-ms is in milliseconds, retry-after in seconds (or an HTTP date).
    const inMs = Number(header(e, 'retry-after-ms'));
    const retryAfterMs = header(e, 'retry-after-ms') && Number.isFinite(inMs) && inMs >= 0 ? inMs : parseRetryAfter(header(e, 'retry-after'));
    return { kind: 'retryable', operator: false, reason: `storage is throttling (${status} ${code})`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  if (status !== undefined && status >= 500) {
    const retryAfterMs = parseRetryAfter(header(e, 'retry-after'));
    return { kind: 'retryable', operator: false, reason: `storage answered ${status} (${code})`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  if (status === 401 || status === 403) {
    return { kind: 'retryable', operator: true, retryAfterMs: OPERATOR_RETRY_AFTER_MS, reason: `storage refused the credentials (${status} ${code}); fix the connection string, SAS or role assignment` };
  }
  if (status === 404) {
    return { kind: 'retryable', operator: true, retryAfterMs: OPERATOR_RETRY_AFTER_MS, reason: `storage account or resource not found (404 ${code}); check the account URL or connection string` };
  }
  if (e.name === 'AbortError' || code === 'REQUEST_ABORTED' || e.name === 'TimeoutError') return { kind: 'retryable', operator: false, reason: 'the request timed out or was aborted' };
  if (code === 'REQUEST_SEND_ERROR') return { kind: 'retryable', operator: false, reason: 'the request could not be sent' };
  if (e.name === 'CredentialUnavailableError' || e.name === 'AuthenticationRequiredError' || e.name === 'AuthenticationError') {
    return { kind: 'retryable', operator: true, retryAfterMs: OPERATOR_RETRY_AFTER_MS, reason: `no Azure AD token could be obtained (${e.name})` };
  }
  // Unknown faults are retried too: never drop a record over an unexplained error.
  return { kind: 'retryable', operator: false, reason: status !== undefined ? `storage answered ${status} (${code})` : `unexpected error (${code})` };
}
