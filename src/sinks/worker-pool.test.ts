import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { mapInWorkerPool } from './worker-pool.js';

test('runs at most `concurrency` items at once and returns results in item order', async () => {
  let running = 0;
  let maxRunning = 0;
  const results = await mapInWorkerPool([30, 5, 20, 1, 10], 2, async (ms) => {
    maxRunning = Math.max(maxRunning, ++running);
    await delay(ms);
    running--;
    return ms * 2;
  });
  assert.deepEqual(results, [60, 10, 40, 2, 20]);
  assert.equal(maxRunning, 2);
});

test('an empty list resolves at once', async () => {
  assert.deepEqual(await mapInWorkerPool([], 4, async () => { throw new Error('never called'); }), []);
});

test('after a failure no new item starts; it rejects with the first failure once started items have settled', async () => {
  const started: number[] = [];
  let slowFinished = false;
  const run = mapInWorkerPool([1, 2, 3, 4, 5], 2, async (n) => {
    started.push(n);
    if (n === 1) throw new Error('first failed');
    await delay(20);
    if (n === 2) slowFinished = true;
  });
  await assert.rejects(run, /first failed/);
  assert.ok(slowFinished, 'the item already running finished before the pool settled');
  assert.deepEqual(started, [1, 2], 'nothing started after the failure');
});

test('refuses a concurrency below 1 (programmer error)', async () => {
  await assert.rejects(mapInWorkerPool([1], 0, async () => undefined), /concurrency/);
});
