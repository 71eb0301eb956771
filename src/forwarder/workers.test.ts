import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { defaultWorkerCount } from './workers.js';

test('default worker count: one per core, never more than the source topics have partitions', () => {
  const cores = os.availableParallelism();
  assert.equal(defaultWorkerCount(), cores);
  assert.equal(defaultWorkerCount(1), 1);
  assert.equal(defaultWorkerCount(cores + 10), cores);
  assert.equal(defaultWorkerCount(0), 1, 'at least one');
});
