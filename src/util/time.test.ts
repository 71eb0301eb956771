import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settlesWithin, sleep, withTimeout } from './time.js';

test('sleep waits, and an abort cuts it short without rejecting', async () => {
  let started = Date.now();
  await sleep(30);
  assert.ok(Date.now() - started >= 25);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 20);
  started = Date.now();
  await sleep(60_000, controller.signal);
  assert.ok(Date.now() - started < 1000);
  await sleep(60_000, controller.signal); // already aborted: returns at once
});

test('withTimeout passes the result through and rejects with the given error when late', async () => {
  assert.equal(await withTimeout(Promise.resolve(7), 1000, () => new Error('late')), 7);
  await assert.rejects(withTimeout(Promise.reject(new Error('own')), 1000, () => new Error('late')), /own/);
  await assert.rejects(withTimeout(new Promise(() => undefined), 20, () => new Error('late')), /late/);
});

test('settlesWithin reports whether a promise settled in time, never rejecting', async () => {
  assert.equal(await settlesWithin(Promise.resolve(), 1000), true);
  assert.equal(await settlesWithin(Promise.reject(new Error('x')), 1000), true);
  assert.equal(await settlesWithin(new Promise(() => undefined), 20), false);
});
