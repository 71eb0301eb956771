/**
 * A custom dead-letter topic is created like every other topic of the project: with the
 * configured replication factor (KAFKA_REPLICATION_FACTOR), not a fixed 1. The check uses
 * what the cluster can refuse: a factor above its broker count must fail the forwarder's
 * start with a clear CONFIG_INVALID (a hard-coded factor 1 would be accepted silently), and
 * the broker count itself is honoured on every partition.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin } from 'kafkajs';
import { hasCode } from '../src/errors.js';
import { Forwarder } from '../src/forwarder/forwarder.js';
import { kafkaSettingsFromEnv } from '../src/kafka/client.js';
import { createTopics, deleteTopics, kafkaClient, uniqueName } from '../testkit/kafka.js';
import { getServices } from '../testkit/services.js';

let brokers: string[];
let brokerCount: number;
/** Connected for the whole file: reads what the forwarder created. */
let admin: Admin;
const id = uniqueName('rf');
const names = { audit: `${id}-audit`, operational: `${id}-operational`, deadLetter: `${id}-deadletter`, destinations: `${id}-destinations` };

function forwarderWith(replicationFactor: number): Forwarder {
  return new Forwarder({
    kafka: kafkaSettingsFromEnv({ KAFKA_BROKERS: brokers.join(',') }),
    topics: { audit: names.audit, operational: names.operational },
    deadLetterTopic: names.deadLetter,
    destinationsTopic: names.destinations,
    env: { KAFKA_REPLICATION_FACTOR: String(replicationFactor) },
  });
}

before(async () => {
  brokers = (await getServices()).kafkaBrokers;
  admin = kafkaClient(brokers).admin();
  await admin.connect();
  brokerCount = (await admin.describeCluster()).brokers.length;
  // Everything but the dead-letter topic exists, so it is the one topic the forwarder creates.
  await createTopics(brokers, [names.audit, names.operational, names.destinations], 1);
});

after(async () => {
  await admin?.disconnect();
  if (brokers) await deleteTopics(brokers, Object.values(names));
});

test('a factor the cluster cannot honour fails the start with CONFIG_INVALID and creates nothing', { timeout: 60_000 }, async () => {
  const forwarder = forwarderWith(brokerCount + 1);
  try {
    await assert.rejects(forwarder.start(), (err: unknown) =>
      hasCode(err, 'CONFIG_INVALID') && new RegExp(`${names.deadLetter}.*replication factor ${brokerCount + 1}.*KAFKA_REPLICATION_FACTOR`).test((err as Error).message));
  } finally {
    await forwarder.stop();
  }
  assert.equal((await admin.listTopics()).includes(names.deadLetter), false);
});

test('the custom dead-letter topic gets the configured factor on every partition', { timeout: 60_000 }, async () => {
  const forwarder = forwarderWith(brokerCount);
  try {
    await forwarder.start();
  } finally {
    await forwarder.stop();
  }
  const metadata = await admin.fetchTopicMetadata({ topics: [names.deadLetter] });
  const partitions = metadata.topics[0]!.partitions;
  assert.ok(partitions.length > 0);
  for (const p of partitions) assert.equal(p.replicas.length, brokerCount, `partition ${p.partitionId} replicas`);
});
