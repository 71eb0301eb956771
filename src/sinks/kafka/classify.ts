/**
 * What a kafkajs error means for a batch, decided from the error's name, protocol type and
 * `retriable` flag along its cause chain (no kafkajs import: these are plain properties).
 */

export type KafkaFailure =
  /** Transient or fixable without touching the records: resend the same batch later. */
  | { kind: 'retryable'; retryAfterMs?: number }
  /** The broker refused a message or batch as too large: split it, or reject a single record. */
  | { kind: 'too-large' }
  /** The producer can no longer be used (fenced by a newer owner of its transactional id, broken transaction state). */
  | { kind: 'reset-producer'; fenced: boolean };

interface KafkaJsLike {
  name?: unknown;
  type?: unknown;
  code?: unknown;
  retriable?: unknown;
  message?: unknown;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown;
}

const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);
/** Kafka error codes for the same, for types kafkajs 2.2.4 does not know (PRODUCER_FENCED = 90). */
const FENCED_CODES = new Set([47, 90]);
const BROKEN_TXN = new Set(['INVALID_TXN_STATE', 'INVALID_PRODUCER_ID_MAPPING', 'UNKNOWN_PRODUCER_ID']);
/** Errors a human must fix (ACLs, credentials): retried, but slowly. */
const NEEDS_OPERATOR = /AUTHORIZATION_FAILED|SASL|AUTHENTICATION/;
export const OPERATOR_RETRY_AFTER_MS = 30_000;

/** The error and every cause below it (kafkajs wraps in NumberOfRetriesExceeded and aggregate errors). */
export function causeChain(error: unknown): KafkaJsLike[] {
  const chain: KafkaJsLike[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && chain.length < 20) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null || chain.includes(e as KafkaJsLike)) continue;
    const k = e as KafkaJsLike;
    chain.push(k);
    queue.push(k.cause, k.originalError);
    if (Array.isArray(k.errors)) queue.push(...k.errors);
  }
  return chain;
}

export function classifyKafkaError(error: unknown): KafkaFailure {
  const chain = causeChain(error);
  const types = chain.map((e) => String(e.type ?? ''));
  if (types.some((t) => TOO_LARGE.has(t))) return { kind: 'too-large' };
  if (types.some((t) => FENCED.has(t)) || chain.some((e) => e.name === 'KafkaJSProtocolError' && FENCED_CODES.has(Number(e.code)))) {
    return { kind: 'reset-producer', fenced: true };
  }
  if (types.some((t) => BROKEN_TXN.has(t)) || chain.some((e) => /Transaction state exception/i.test(String(e.message ?? '')))) {
    return { kind: 'reset-producer', fenced: false };
  }
  const operator = chain.some((e) => NEEDS_OPERATOR.test(String(e.type ?? '')) || NEEDS_OPERATOR.test(String(e.name ?? '').toUpperCase()));
  if (operator) return { kind: 'retryable', retryAfterMs: OPERATOR_RETRY_AFTER_MS };
  // Connection errors, request timeouts, leader changes and retries exhausted on any of
  // them are all transient; anything unknown is retried too (records are never dropped
  // for a reason that is not about the records themselves).
  return { kind: 'retryable' };
}
