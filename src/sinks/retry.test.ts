import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, parseRetryAfter } from './retry.js';

test('backoff grows exponentially, is capped and jittered below the ceiling', () => {
  const max = { initialDelayMs: 100, maxDelayMs: 1000 };
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, max, undefined, () => 1)), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(backoffDelay(3, { initialDelayMs: 100 }, undefined, () => 0.5), 200);
});

test("a server's retry-after is a floor for the delay", () => {
  assert.equal(backoffDelay(1, { initialDelayMs: 100 }, 5000, () => 1), 5000);
  assert.equal(backoffDelay(10, { initialDelayMs: 100, maxDelayMs: 8000 }, 10, () => 1), 8000);
});

test('parseRetryAfter reads seconds and HTTP dates', () => {
  assert.equal(parseRetryAfter('2'), 2000);
  assert.equal(parseRetryAfter('0.5'), 500);
  assert.equal(parseRetryAfter(new Date(10_000 + 3000).toUTCString(), 10_000), 3000);
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});
