import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, parseRetryAfter, withRetry } from './retry.js';
import { InsightLogsError, hasCode } from '../errors.js';

test('backoff grows exponentially, is capped and jittered below the ceiling', () => {
  const max = { initialDelayInMs: 100, maxDelayInMs: 1000, random: () => 1 };
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, max)), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(backoffDelay(3, { initialDelayInMs: 100, random: () => 0.5 }), 200);
});

test("a server's retry-after is a floor for the delay", () => {
  assert.equal(backoffDelay(1, { initialDelayInMs: 100, random: () => 1 }, 5000), 5000);
  assert.equal(backoffDelay(10, { initialDelayInMs: 100, maxDelayInMs: 8000, random: () => 1 }, 10), 8000);
});

test('withRetry retries retryable errors until success and reports each retry', async () => {
  const seen: number[] = [];
  const result = await withRetry(
    async (attempt) => { if (attempt < 3) throw new Error('transient'); return attempt; },
    () => ({ retryable: true }),
    { initialDelayInMs: 1, onRetry: ({ attempt }) => { seen.push(attempt); } },
  );
  assert.equal(result, 3);
  assert.deepEqual(seen, [1, 2]);
});

test('withRetry stops at the first non-retryable error', async () => {
  let calls = 0;
  await assert.rejects(
    withRetry(async () => { calls++; throw new Error('permanent'); }, () => ({ retryable: false }), { initialDelayInMs: 1 }),
    /permanent/,
  );
  assert.equal(calls, 1);
});

test('withRetry gives up at the deadline with DEADLINE_EXCEEDED wrapping the cause', async () => {
  const started = Date.now();
  const err = await withRetry(async () => { throw new Error('still down'); }, () => ({ retryable: true }), { initialDelayInMs: 20, deadlineInMs: 150 })
    .then(() => undefined, (e: unknown) => e);
  assert.ok(hasCode(err, 'DEADLINE_EXCEEDED'));
  assert.match(((err as InsightLogsError).cause as Error).message, /still down/);
  assert.ok(Date.now() - started < 1000);
});

test('withRetry stops waiting when aborted', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 30);
  const err = await withRetry(async () => { throw new Error('down'); }, () => ({ retryable: true, retryAfterMs: 60_000 }), { abortSignal: controller.signal })
    .then(() => undefined, (e: unknown) => e);
  assert.ok(hasCode(err, 'ABORTED'));
});

test('parseRetryAfter reads seconds and HTTP dates', () => {
  assert.equal(parseRetryAfter('2'), 2000);
  assert.equal(parseRetryAfter('0.5'), 500);
  assert.equal(parseRetryAfter(new Date(10_000 + 3000).toUTCString(), 10_000), 3000);
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});
