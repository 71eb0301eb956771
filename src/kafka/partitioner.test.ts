import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { cachedKeyPartitioner } from './partitioner.js';

const metadata = (n: number, leaderless: number[] = []): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: leaderless.includes(partitionId) ? -1 : 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));

test('keyed records get the partition of kafkajs DefaultPartitioner (Java murmur2), also from the cache and after it fills', () => {
  const ours = cachedKeyPartitioner();
  const reference = Partitioners.DefaultPartitioner();
  const keys = Array.from({ length: 12_000 }, (_, i) => `/SUBSCRIPTIONS/S-${i % 37}/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I-${i}`);
  keys.push('', 'é😀', 'a'.repeat(1000));
  for (const partitions of [1, 3, 6, 7, 100]) {
    const partitionMetadata = metadata(partitions, [1]);
    for (const round of [1, 2]) {
      for (const key of keys) {
        const args = { topic: 't', partitionMetadata, message: { key, value: 'v' } };
        assert.equal(ours(args), reference(args), `key ${key.slice(0, 40)}… on ${partitions} partitions, round ${round}`);
      }
    }
  }
});

test('an explicit partition wins; records without a key are spread over partitions that have a leader', () => {
  const ours = cachedKeyPartitioner();
  const partitionMetadata = metadata(4, [0, 2]);
  assert.equal(ours({ topic: 't', partitionMetadata, message: { key: 'k', value: 'v', partition: 3 } }), 3);
  const seen = new Set<number>();
  for (let i = 0; i < 50; i++) seen.add(ours({ topic: 't', partitionMetadata, message: { value: 'v' } }));
  assert.deepEqual([...seen].sort(), [1, 3]);
});
