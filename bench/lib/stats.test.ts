import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, percentile, slope } from './stats.js';
import { summariseProfile } from './cpuprofile.js';

test('median of odd and even counts', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('nearest-rank percentiles', () => {
  const v = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(v, 50), 50);
  assert.equal(percentile(v, 99), 99);
  assert.equal(percentile([7], 99), 7);
});

test('slope of a line and of a flat series', () => {
  assert.equal(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }]), 2);
  assert.equal(slope([{ x: 0, y: 4 }, { x: 5, y: 4 }]), 0);
});

test('cpu profile summary adds self time per function and ranks it', () => {
  const profile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, hitCount: 0, children: [2, 3] },
      { id: 2, callFrame: { functionName: 'decode', url: 'file:///x/a.js', lineNumber: 9 }, hitCount: 0, children: [4] },
      { id: 3, callFrame: { functionName: 'stringify', url: '', lineNumber: -1 }, hitCount: 0 },
      { id: 4, callFrame: { functionName: 'stringify', url: '', lineNumber: -1 }, hitCount: 0 },
    ],
    startTime: 0,
    endTime: 40,
    samples: [2, 3, 4, 4],
    timeDeltas: [10, 10, 10, 10],
  };
  const top = summariseProfile(profile, 5);
  assert.equal(top[0]!.functionName, 'stringify');
  assert.equal(top[0]!.selfMs, 0.03);
  assert.equal(top[0]!.percent, 75);
  assert.equal(top[1]!.functionName, 'decode');
});
