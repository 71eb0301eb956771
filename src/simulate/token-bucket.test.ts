import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from './token-bucket.js';

test('paces to the rate across ticks, carrying fractions', () => {
  const bucket = new TokenBucket(100, 100, 0);
  let total = 0;
  for (let t = 30; t <= 3000; t += 30) total += bucket.take(t);
  assert.ok(total >= 299 && total <= 300, `took ${total}`);
});

test('a late tick catches up, but only up to the burst', () => {
  const bucket = new TokenBucket(100, 50, 0);
  assert.equal(bucket.take(200), 20);
  assert.equal(bucket.take(10_200), 50);
});

test('limit caps a take without losing the rest', () => {
  const bucket = new TokenBucket(1000, 1000, 0);
  assert.equal(bucket.take(100, 30), 30);
  assert.equal(bucket.take(100), 70);
  assert.equal(bucket.take(100), 0);
});
