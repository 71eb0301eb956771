import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replicationWarnings } from './replication.js';

const safe = { name: 'insight-logs-audit', replicas: 3, minInsyncReplicas: 2, uncleanLeaderElection: false };

test('no warning for 3 replicas, min.insync.replicas 2, clean election', () => {
  assert.deepEqual(replicationWarnings(3, [safe]), []);
});

test('a single node is not warned about: it cannot do better', () => {
  assert.deepEqual(replicationWarnings(1, [{ ...safe, replicas: 1, minInsyncReplicas: 1 }], { KAFKA_REPLICATION_FACTOR: '1' }), []);
});

test('on 3+ brokers: too few replicas, min.insync.replicas 1, unclean election and a low KAFKA_REPLICATION_FACTOR each warn', () => {
  const w = replicationWarnings(5, [
    { ...safe, name: 'a', replicas: 1 },
    { ...safe, name: 'o', minInsyncReplicas: 1 },
    { ...safe, name: 'u', uncleanLeaderElection: true },
  ], { KAFKA_REPLICATION_FACTOR: '2' });
  assert.equal(w.length, 4);
  assert.match(w[0]!, /^a has 1 replica\(s\) on a 5-broker cluster/);
  assert.match(w[1]!, /^o has min\.insync\.replicas 1: the producer's acks=all is satisfied by one copy/);
  assert.match(w[2]!, /^u allows unclean leader election/);
  assert.match(w[3]!, /^KAFKA_REPLICATION_FACTOR=2/);
});
