import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { OffsetTracker } from './offset-tracker.js';

const T = 'topic';

describe('OffsetTracker', () => {
  test('commits nothing until the first record is done', () => {
    const t = new OffsetTracker();
    t.track(T, 0, ['0', '1', '2']);
    t.markDone(T, 0, ['1', '2']);
    assert.equal(t.committable(T, 0), undefined);
    t.markDone(T, 0, ['0']);
    assert.deepEqual(t.committable(T, 0), { topic: T, partition: 0, offset: '3' });
  });

  test('an undone record holds back every later offset of its partition only', () => {
    const t = new OffsetTracker();
    t.track(T, 0, ['10', '11', '12', '13']);
    t.track(T, 1, ['5']);
    t.markDone(T, 0, ['10', '12', '13']);
    t.markDone(T, 1, ['5']);
    assert.equal(t.committable(T, 0)?.offset, '11');
    assert.equal(t.committable(T, 1)?.offset, '6');
  });

  test('gaps in offsets (compaction, transaction markers) do not block', () => {
    const t = new OffsetTracker();
    t.track(T, 0, ['5', '7', '9'], '10');
    t.markDone(T, 0, ['5', '7']);
    assert.equal(t.committable(T, 0)?.offset, '8');
    t.markDone(T, 0, ['9']);
    // 10 is a control record at the end of the batch: nothing to deliver there.
    assert.equal(t.committable(T, 0)?.offset, '11');
  });

  test('nothing new after a commit; refetched offsets are not tracked twice', () => {
    const t = new OffsetTracker();
    t.track(T, 0, ['0', '1']);
    t.markDone(T, 0, ['0']);
    t.markCommitted(T, 0, '1');
    assert.equal(t.committable(T, 0), undefined);
    t.track(T, 0, ['1', '2']); // redelivery of 1 after an abandoned chunk
    t.markDone(T, 0, ['1']);
    assert.equal(t.committable(T, 0)?.offset, '2');
    t.markDone(T, 0, ['2']);
    assert.equal(t.committable(T, 0)?.offset, '3');
  });

  test('committableIf previews without changing state', () => {
    const t = new OffsetTracker();
    t.track(T, 0, ['0', '1', '2']);
    t.markDone(T, 0, ['0']);
    assert.equal(t.committableIf(T, 0, ['1'])?.offset, '2');
    assert.equal(t.committableIf(T, 0, ['2'])?.offset, '1');
    assert.equal(t.committable(T, 0)?.offset, '1');
  });

  test('partitions of different topics are tracked apart; a commit ends what is committable', () => {
    const t = new OffsetTracker();
    t.track('a', 0, ['0']);
    t.track('b', 2, ['4']);
    t.markDone('a', 0, ['0']);
    t.markDone('b', 2, ['4']);
    assert.deepEqual([t.committable('a', 0), t.committable('b', 2)].map((c) => `${c?.topic}/${c?.partition}@${c?.offset}`), ['a/0@1', 'b/2@5']);
    t.markCommitted('a', 0, '1');
    assert.equal(t.committable('a', 0), undefined);
    assert.equal(t.committable('b', 2)?.offset, '5');
  });

  test('offsets beyond 2^53 stay exact', () => {
    const t = new OffsetTracker();
    t.track(T, 0, ['9007199254740993']);
    t.markDone(T, 0, ['9007199254740993']);
    assert.equal(t.committable(T, 0)?.offset, '9007199254740994');
  });
});
