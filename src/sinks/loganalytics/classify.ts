/**
 * Pure: what an upload failure means. The Logs Ingestion API answers 204 on success; the
 * SDK turns anything else into a RestError (`statusCode`, `code`, `message` from the body's
 * `error`, response headers) and transport failures into errors with a Node `code`.
 *
 * - 400: the service refuses the rows (shape, types, a DCR transformation error) and will
 *   refuse them again: permanent, the rows are dead-lettered with the service's message.
 * - 413: the request is too large: split it; a single row → RECORD_TOO_LARGE.
 * - 401/403/404: credentials, role assignment or rule/stream id are wrong. Retryable: an
 *   operator can fix them, and dead-lettering audit events for a typo would lose them.
 * - 429 (retry-after honoured), 5xx, timeouts, connection errors: retryable.
 */
import { parseRetryAfter } from '../retry.js';

export type UploadFailure =
  | { kind: 'refused'; status: number; reason: string }
  | { kind: 'too-large'; status: number; reason: string }
  | { kind: 'retryable'; status?: number; reason: string; retryAfterMs?: number; needsOperator: boolean };

interface HeadersLike { get(name: string): string | undefined | null }
interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
  response?: { status?: number; headers?: HeadersLike };
}

function statusOf(error: RestErrorLike): number | undefined {
  return error.statusCode ?? error.response?.status;
}

function retryAfterOf(error: RestErrorLike): number | undefined {
  const headers = error.response?.headers;
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms') ?? headers.get('x-ms-retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  return parseRetryAfter(headers.get('retry-after'));
}

/** The service's own words, short and on one line. */
function serviceMessage(error: RestErrorLike): string {
  const text = (error.message ?? '').replace(/\s+/g, ' ').trim().slice(0, 500);
  return error.code && !text.startsWith(error.code) ? `${error.code}: ${text}` : text || 'no message';
}

export function classifyUploadError(error: unknown): UploadFailure {
  const e = (error ?? {}) as RestErrorLike;
  const status = statusOf(e);
  const message = serviceMessage(e);
  if (status === undefined) {
    const what = e.code && /^E[A-Z]+$/.test(e.code) ? `connection failed (${e.code})` : 'no response';
    return { kind: 'retryable', reason: `${what}: ${message}`, needsOperator: false };
  }
  if (status === 400) return { kind: 'refused', status, reason: `the service refused the rows (HTTP 400): ${message}` };
  if (status === 413) return { kind: 'too-large', status, reason: `the request is too large (HTTP 413): ${message}` };
  if (status === 401 || status === 403) {
    return {
      kind: 'retryable',
      status,
      reason: `not authorized (HTTP ${status}): ${message}; check the credential and that it holds the "Monitoring Metrics Publisher" role on the data collection rule`,
      needsOperator: true,
    };
  }
  if (status === 404) {
    return { kind: 'retryable', status, reason: `not found (HTTP 404): ${message}; check ruleId (the DCR immutable id), the stream names and the endpoint`, needsOperator: true };
  }
  const retryAfterMs = retryAfterOf(e);
  const reason = status === 429 ? `throttled (HTTP 429): ${message}` : `HTTP ${status}: ${message}`;
  return retryAfterMs !== undefined
    ? { kind: 'retryable', status, reason, retryAfterMs, needsOperator: false }
    : { kind: 'retryable', status, reason, needsOperator: false };
}
