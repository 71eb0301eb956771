import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { classifyKafkaError, OPERATOR_RETRY_AFTER_MS } from './classify.js';

// kafkajs is CommonJS and its typings disagree with its constructors: use the real classes, loosely typed.
type Ctor = new (...args: any[]) => Error;
const errors = kafkajs as unknown as Record<string, Ctor>;
const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSRequestTimeoutError, KafkaJSSASLAuthenticationError, KafkaJSNonRetriableError } = errors as Record<string, Ctor>;
const protocol = (type: string, code: number, retriable: boolean) => new KafkaJSProtocolError!({ type, code, retriable, message: type } as never);
const exhausted = (cause: Error) => new KafkaJSNumberOfRetriesExceeded!(cause, { retryCount: 2, retryTime: 100 });

test('connection errors, timeouts and retries exhausted on them are retryable', () => {
  assert.deepEqual(classifyKafkaError(new KafkaJSConnectionError!('Connection error: ECONNREFUSED')), { kind: 'retryable' });
  assert.deepEqual(classifyKafkaError(exhausted(new KafkaJSConnectionError!('refused'))), { kind: 'retryable' });
  assert.deepEqual(classifyKafkaError(new KafkaJSRequestTimeoutError!('Request Produce(key: 0, version: 7) timed out' as never)), { kind: 'retryable' });
  assert.deepEqual(classifyKafkaError(exhausted(protocol('NOT_LEADER_FOR_PARTITION', 6, true))), { kind: 'retryable' });
});

test('too large, directly or as a cause, asks for a split', () => {
  assert.deepEqual(classifyKafkaError(protocol('MESSAGE_TOO_LARGE', 10, false)), { kind: 'too-large' });
  assert.deepEqual(classifyKafkaError(exhausted(protocol('RECORD_LIST_TOO_LARGE', 18, false))), { kind: 'too-large' });
});

test('a fenced producer (old epoch, or code 90 that kafkajs does not name) must be recreated', () => {
  assert.deepEqual(classifyKafkaError(protocol('INVALID_PRODUCER_EPOCH', 47, false)), { kind: 'reset-producer', fenced: true });
  assert.deepEqual(classifyKafkaError(protocol('KAFKAJS_UNKNOWN_ERROR_CODE', 90, false)), { kind: 'reset-producer', fenced: true });
  assert.deepEqual(classifyKafkaError(new KafkaJSNonRetriableError!('Transaction state exception: Invalid transaction state')), { kind: 'reset-producer', fenced: false });
});

test('authorization and authentication failures are retried slowly (a person must fix them)', () => {
  assert.deepEqual(classifyKafkaError(protocol('TOPIC_AUTHORIZATION_FAILED', 29, false)), { kind: 'retryable', retryAfterMs: OPERATOR_RETRY_AFTER_MS });
  assert.deepEqual(classifyKafkaError(new KafkaJSSASLAuthenticationError!('SASL SCRAM authentication failed')), { kind: 'retryable', retryAfterMs: OPERATOR_RETRY_AFTER_MS });
});
