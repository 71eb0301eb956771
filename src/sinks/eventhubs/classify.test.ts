import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyEventHubsError, OPERATOR_RETRY_AFTER_MS } from './classify.js';

function messagingError(code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${code} happened`), { name: 'MessagingError', code, ...extra });
}

test('throttling is retryable and honours a retry-after the error carries', () => {
  const c = classifyEventHubsError(messagingError('ServerBusyError', { retryAfterInMs: 1234 }));
  assert.deepEqual(c.kind === 'retryable' && [c.retryAfterMs, c.resetClient], [1234, false]);
  const d = classifyEventHubsError(messagingError('ServerBusyError'));
  assert.ok(d.kind === 'retryable' && d.retryAfterMs! > 0);
});

test('connection loss and refused connections are retryable with a fresh client', () => {
  for (const code of ['ConnectionForcedError', 'ConnectionLostError', 'ECONNREFUSED']) {
    const c = classifyEventHubsError(Object.assign(new Error('x'), { code }));
    assert.ok(c.kind === 'retryable' && c.resetClient, code);
  }
});

test('timeouts and ServiceUnavailable are retryable', () => {
  for (const code of ['OperationTimeoutError', 'ServiceUnavailableError']) assert.equal(classifyEventHubsError(messagingError(code)).kind, 'retryable');
});

test('credential and missing-hub errors are retried slowly, never dead-lettered', () => {
  for (const code of ['UnauthorizedError', 'ServiceCommunicationError']) {
    const c = classifyEventHubsError(messagingError(code));
    assert.ok(c.kind === 'retryable' && c.retryAfterMs === OPERATOR_RETRY_AFTER_MS, code);
  }
});

test('MessageTooLarge asks for smaller bodies; unknown errors stay retryable', () => {
  assert.equal(classifyEventHubsError(messagingError('MessageTooLargeError')).kind, 'too-large');
  assert.equal(classifyEventHubsError('weird').kind, 'retryable');
});

test('an AggregateError of SDK attempts is classified by its last attempt', () => {
  const aggregate = new AggregateError([messagingError('ConnectionLostError'), messagingError('ServerBusyError')], '');
  const c = classifyEventHubsError(aggregate);
  assert.ok(c.kind === 'retryable' && !c.resetClient && c.reason.includes('ServerBusyError'));
});
