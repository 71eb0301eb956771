import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin } from 'kafkajs';
import { ensureTopics, replicationFactorFromEnv, replicationFor, topicPlan } from './topics.js';

test('plan: three event topics with N partitions and a compacted one-partition destinations topic', () => {
  const plan = topicPlan({ partitions: 6, retentionMs: 86_400_000 });
  assert.deepEqual(plan.map((p) => [p.topic, p.partitions]), [
    ['insight-logs-audit', 6], ['insight-logs-operational', 6], ['insight-logs-deadletter', 6], ['insight-logs-destinations', 1],
  ]);
  assert.deepEqual(plan[0]!.configEntries, [{ name: 'retention.ms', value: '86400000' }]);
  assert.deepEqual(plan[3]!.configEntries, [{ name: 'cleanup.policy', value: 'compact' }]);
  assert.throws(() => topicPlan({ partitions: 0 }), /partitions/);
});

test('plan uses given names', () => {
  const plan = topicPlan({ names: { audit: 'a', operational: 'o', deadLetter: 'd', destinations: 'x' } });
  assert.deepEqual(plan.map((p) => p.topic), ['a', 'o', 'd', 'x']);
});

test('replication factor from KAFKA_REPLICATION_FACTOR, unset when not given, validated', () => {
  assert.equal(replicationFactorFromEnv({}), undefined);
  assert.equal(replicationFactorFromEnv({ KAFKA_REPLICATION_FACTOR: '3' }), 3);
  assert.throws(() => replicationFactorFromEnv({ KAFKA_REPLICATION_FACTOR: 'three' }), /KAFKA_REPLICATION_FACTOR/);
});

test('replication: min(3, brokers) by default, min.insync.replicas 2 from 3 replicas on', () => {
  assert.deepEqual(replicationFor(1), { replicationFactor: 1 });
  assert.deepEqual(replicationFor(2), { replicationFactor: 2 });
  assert.deepEqual(replicationFor(3), { replicationFactor: 3, minInsyncReplicas: 2 });
  assert.deepEqual(replicationFor(7), { replicationFactor: 3, minInsyncReplicas: 2 });
  // Asked for explicitly: honoured, even above or below the default.
  assert.deepEqual(replicationFor(7, 1), { replicationFactor: 1 });
  assert.deepEqual(replicationFor(5, 5), { replicationFactor: 5, minInsyncReplicas: 2 });
});

/** An in-memory Admin with just what ensureTopics calls. */
function fakeAdmin(existing: Record<string, number>, brokers = 1): { admin: Admin; created: unknown[] } {
  const topics = new Map(Object.entries(existing));
  const created: unknown[] = [];
  const admin = {
    createTopics: async ({ topics: list }: { topics: { topic: string; numPartitions: number }[] }) => {
      for (const t of list) { created.push(t); topics.set(t.topic, t.numPartitions); }
      return true;
    },
    listTopics: async () => [...topics.keys()],
    describeCluster: async () => ({ brokers: Array.from({ length: brokers }, (_, i) => ({ nodeId: i + 1 })), controller: 1, clusterId: 'fake' }),
    fetchTopicMetadata: async ({ topics: names }: { topics: string[] }) => ({
      topics: names.map((name) => ({ name, partitions: Array.from({ length: topics.get(name) ?? 0 }, (_, i) => ({ partitionId: i })) })),
    }),
  } as unknown as Admin;
  return { admin, created };
}

test('creates only what is missing, reports fewer partitions than asked without changing them', async () => {
  const { admin, created } = fakeAdmin({ 'insight-logs-audit': 1, 'insight-logs-destinations': 1 });
  const result = await ensureTopics(admin, { partitions: 3, replicationFactor: 2 });
  assert.deepEqual(result.created, ['insight-logs-operational', 'insight-logs-deadletter']);
  assert.deepEqual(result.existed, ['insight-logs-audit', 'insight-logs-destinations']);
  assert.deepEqual(created.map((c) => (c as { replicationFactor: number }).replicationFactor), [2, 2]);
  const audit = result.topics.find((t) => t.topic === 'insight-logs-audit')!;
  assert.equal(audit.partitions, 1);
  assert.match(audit.warning ?? '', /fewer than the 3 asked/);
  assert.equal(result.topics.find((t) => t.topic === 'insight-logs-destinations')!.warning, undefined);

  const again = await ensureTopics(admin, { partitions: 3, replicationFactor: 2 });
  assert.deepEqual(again.created, []);
  assert.equal(created.length, 2, 'idempotent: nothing created the second time');
});

test('without a factor: three replicas and min.insync.replicas 2 on a five-broker cluster, one replica on a single node', async () => {
  const big = fakeAdmin({}, 5);
  await ensureTopics(big.admin, { env: {} });
  for (const t of big.created as { topic: string; replicationFactor: number; configEntries: { name: string; value: string }[] }[]) {
    assert.equal(t.replicationFactor, 3, t.topic);
    assert.deepEqual(t.configEntries.filter((e) => e.name === 'min.insync.replicas'), [{ name: 'min.insync.replicas', value: '2' }], t.topic);
  }
  assert.equal(big.created.length, 4);
  const single = fakeAdmin({}, 1);
  await ensureTopics(single.admin, { env: {} });
  for (const t of single.created as { replicationFactor: number; configEntries: { name: string }[] }[]) {
    assert.equal(t.replicationFactor, 1);
    assert.equal(t.configEntries.some((e) => e.name === 'min.insync.replicas'), false);
  }
  const fromEnv = fakeAdmin({}, 5);
  await ensureTopics(fromEnv.admin, { env: { KAFKA_REPLICATION_FACTOR: '2' } });
  assert.deepEqual((fromEnv.created as { replicationFactor: number }[]).map((t) => t.replicationFactor), [2, 2, 2, 2]);
});
