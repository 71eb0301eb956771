/**
 * One lag for a group that never committed, whoever asks: on topics whose log start offset is
 * above 0 (records deleted with deleteTopicRecords), the forwarder's `insight_logs_consumer_lag_records`
 * gauge and `status` both report end offset − log start offset per partition, which is what
 * a consumer starting at the oldest retained record really has to read (not end offset − 0).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { defaultSchemaRegistry } from '../src/codec/schema-registry.js';
import { parseDestination } from '../src/config/destinations.js';
import { DestinationStore } from '../src/destinations/store.js';
import { kindOf } from '../src/events/types.js';
import { Forwarder } from '../src/forwarder/forwarder.js';
import { groupIdFor } from '../src/forwarder/pipeline.js';
import { createKafka, kafkaSettingsFromEnv } from '../src/kafka/client.js';
import { collectStatus } from '../src/ops/status.js';
import { dropMemoryStore, memoryStore } from '../src/sinks/memory/store.js';
import { sleep } from '../src/util/time.js';
import { createTopics, deleteTopics, kafkaClient, uniqueName } from '../testkit/kafka.js';
import { apiEventWithId } from './helpers/records.js';
import { getServices } from '../testkit/services.js';

const PARTITIONS = 2;
const PER_PARTITION = 10;
/** Records deleted from the start of each partition of each topic (log start offset after). */
const DELETED: Record<string, number[]> = { audit: [4, 0], operational: [7, 3] };

let brokers: string[];
let forwarder: Forwarder | undefined;
let store: DestinationStore | undefined;
const id = uniqueName('lag');
const names = { audit: `${id}-audit`, operational: `${id}-operational`, deadLetter: `${id}-deadletter`, destinations: `${id}-destinations` };
const destination = `stuck-${randomUUID().slice(0, 8)}`;

before(async () => {
  brokers = (await getServices()).kafkaBrokers;
  await createTopics(brokers, [names.audit, names.operational], PARTITIONS);
  const kafka = kafkaClient(brokers);
  const producer = kafka.producer();
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const [category, topic] of [['audit', names.audit], ['operational', names.operational]] as const) {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const messages = Array.from({ length: PER_PARTITION }, () => {
          const event = apiEventWithId(randomUUID(), { audit: category === 'audit' });
          return { key: event.resourceId, value: defaultSchemaRegistry().encode(kindOf(event), event), partition };
        });
        await producer.send({ topic, acks: -1, messages });
      }
      await admin.fetchTopicMetadata({ topics: [topic] }); // deleteTopicRecords needs the leaders known
      const partitions = DELETED[category]!.map((offset, partition) => ({ partition, offset: String(offset) })).filter((p) => p.offset !== '0');
      await admin.deleteTopicRecords({ topic, partitions });
    }
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});

after(async () => {
  await forwarder?.stop();
  await store?.close();
  dropMemoryStore(destination);
  if (brokers) await deleteTopics(brokers, Object.values(names));
});

test('for a group that never committed, the lag gauge and status agree: end offset − log start offset', { timeout: 120_000 }, async () => {
  const settings = kafkaSettingsFromEnv({ KAFKA_BROKERS: brokers.join(',') });
  // The destination answers retryable forever, so its group joins, reads and never commits.
  memoryStore(destination).unavailable = true;
  store = new DestinationStore({ kafka: createKafka(settings), topic: names.destinations });
  await store.apply([parseDestination({ name: destination, type: 'memory' }, destination)]);
  forwarder = new Forwarder({
    kafka: settings,
    topics: { audit: names.audit, operational: names.operational },
    deadLetterTopic: names.deadLetter,
    destinationsTopic: names.destinations,
    retry: { initialDelayMs: 50, maxDelayMs: 200 },
    lagIntervalMs: 300,
  });
  await forwarder.start();
  await forwarder.waitUntilReady(60_000);

  const expected = new Map<string, number>();
  for (const category of ['audit', 'operational'] as const) {
    DELETED[category]!.forEach((deleted, partition) => expected.set(`${names[category]}/${partition}`, PER_PARTITION - deleted));
  }
  const gauge = async (): Promise<Map<string, number>> => {
    const { values } = await forwarder!.metrics.consumerLag.get();
    return new Map(values.filter((v) => v.labels.destination === destination).map((v) => [`${v.labels.topic}/${v.labels.partition}`, v.value]));
  };
  const deadline = Date.now() + 60_000;
  while ((await gauge()).size < expected.size) {
    if (Date.now() > deadline) throw new Error(`the lag gauge never covered every partition: ${JSON.stringify([...(await gauge())])}`);
    await sleep(200);
  }
  // Several refreshes later the gauge still says the same: the group really never committed.
  await sleep(1000);

  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId: groupIdFor(destination), topics: [names.audit, names.operational] });
    assert.ok(committed.flatMap((t) => t.partitions).every((p) => Number(p.offset) < 0), 'the group committed nothing');
    const report = await collectStatus(admin, names);
    const group = report.groups.find((g) => g.groupId === groupIdFor(destination));
    assert.ok(group, 'status lists the group');
    const fromStatus = new Map(group.partitions.map((p) => [`${p.topic}/${p.partition}`, Number(p.lag)]));
    const fromGauge = await gauge();
    assert.deepEqual(fromGauge, expected);
    assert.deepEqual(fromStatus, expected);
    assert.equal(Number(group.lag), [...expected.values()].reduce((a, b) => a + b, 0));
  } finally {
    await admin.disconnect();
  }
});
