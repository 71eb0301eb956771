import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchEvent } from '../lib/events.js';
import { verifyIds } from './forwarder.js';

const records = (ids: number[]): Record<string, unknown>[] => ids.map((i) => JSON.parse(JSON.stringify(benchEvent(i, 'r1'))) as Record<string, unknown>);

test('verifyIds: every id once or more passes and counts duplicates', () => {
  assert.equal(verifyIds('dir', records([0, 1, 2, 8, 9, 3, 4, 5, 6, 7, 9]), 10), '10 distinct ids of 10, 1 duplicate(s)');
});

test('verifyIds: a missing id fails even when duplicates make up the count', () => {
  assert.throws(() => verifyIds('blob', records([0, 1, 1, 3]), 4), /blob: 3 of 4 events delivered \(1 missing, e\.g\. 2; 0 records/);
});

test('verifyIds: records without an id of this run fail', () => {
  assert.throws(() => verifyIds('kafka', [...records([0, 1]), {}], 2), /1 records without a bench id/);
});
