import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sinkContract } from '../../../integration-tests/helpers/sink-contract.js';
import { makeSinkRecords } from '../../../integration-tests/helpers/records.js';
import { silentLogger } from '../../logging.js';
import { memorySinkType } from './sink.js';
import { dropMemoryStore, memoryStore } from './store.js';

const context = (name: string) => ({ name, categories: ['audit', 'operational'] as const, logger: silentLogger, env: {} });

const storeName = `contract-${randomUUID()}`;
sinkContract('memory', {
  create: async () => memorySinkType.create(memorySinkType.parseSettings({ store: storeName }, 'd'), context('contract')),
  readBack: async (category) => memoryStore(storeName).records
    .filter((r) => r.event.category.toLowerCase() === category)
    .map((r) => JSON.parse(r.json) as Record<string, unknown>),
  makeUnavailable: async () => { memoryStore(storeName).unavailable = true; },
  restore: async () => { memoryStore(storeName).unavailable = false; },
  cleanup: async () => dropMemoryStore(storeName),
});

test('flaky: the first N sends are retryable with the configured retry-after, then delivered', async () => {
  const name = `flaky-${randomUUID()}`;
  const sink = memorySinkType.create(memorySinkType.parseSettings({ retryableTimes: '2', retryAfterMs: 700 }, 'd'), context(name));
  const batch = makeSinkRecords(3);
  for (let i = 0; i < 2; i++) {
    const outcome = await sink.send(batch);
    assert.equal(outcome.status, 'retryable');
    assert.equal(outcome.status === 'retryable' ? outcome.retryAfterMs : undefined, 700);
  }
  assert.equal((await sink.send(batch)).status, 'delivered');
  assert.equal(memoryStore(name).records.length, 3);
  assert.equal(memoryStore(name).sends, 3);
  dropMemoryStore(name);
});

test('records above maxRecordBytes are rejected, the rest delivered', async () => {
  const name = `limit-${randomUUID()}`;
  const batch = makeSinkRecords(4);
  const limit = Math.max(...batch.map((r) => Buffer.byteLength(r.json))) - 1;
  const sink = memorySinkType.create(memorySinkType.parseSettings({ maxRecordBytes: limit }, 'd'), context(name));
  const outcome = await sink.send(batch);
  assert.equal(outcome.status, 'delivered');
  const rejected = outcome.status === 'delivered' ? outcome.rejected ?? [] : [];
  assert.ok(rejected.length >= 1 && rejected.every((r) => r.code === 'RECORD_TOO_LARGE'));
  assert.equal(memoryStore(name).records.length + rejected.length, 4);
  dropMemoryStore(name);
});

test('settings: unknown keys name their path', () => {
  assert.throws(() => memorySinkType.parseSettings({ stroe: 'x' }, 'destinations[3]'), /destinations\[3\]\.stroe: unknown key/);
  assert.throws(() => memorySinkType.parseSettings({ retryableTimes: -1 }, 'd'), /d\.retryableTimes/);
});
