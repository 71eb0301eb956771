import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { KeyedQueue } from './keyed-queue.js';

test('tasks of one key run one at a time, in order; other keys run alongside', async () => {
  const queue = new KeyedQueue();
  const log: string[] = [];
  let runningA = 0;
  let maxRunningA = 0;
  const taskA = (id: string, ms: number) => async () => {
    runningA++;
    maxRunningA = Math.max(maxRunningA, runningA);
    log.push(`start ${id}`);
    await delay(ms);
    log.push(`end ${id}`);
    runningA--;
    return id;
  };
  const b = queue.run('b', async () => { log.push('b'); return 'b'; });
  const results = await Promise.all([queue.run('a', taskA('a1', 20)), queue.run('a', taskA('a2', 1)), queue.run('a', taskA('a3', 1)), b]);
  assert.deepEqual(results, ['a1', 'a2', 'a3', 'b']);
  assert.equal(maxRunningA, 1);
  assert.deepEqual(log.filter((l) => l.includes('a')), ['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3']);
  // b did not wait for the a tasks.
  assert.ok(log.indexOf('b') < log.indexOf('end a1'));
});

test('a failing task rejects only its own caller; the next task of the key still runs; keys are forgotten', async () => {
  const queue = new KeyedQueue();
  const first = queue.run('k', async () => { throw new Error('boom'); });
  const second = queue.run('k', async () => 'ok');
  await assert.rejects(first, /boom/);
  assert.equal(await second, 'ok');
  await delay(0);
  assert.equal(queue.activeKeys, 0);
});
