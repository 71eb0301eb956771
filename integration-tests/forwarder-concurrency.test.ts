/**
 * Partition concurrency (INSIGHT_LOGS_PARTITION_CONCURRENCY / `tuning.partitionConcurrency`):
 * several source partitions are delivered at the same time, but never two sends of one
 * partition at once, each partition's records arrive in offset order, and everything is
 * committed in the end. A spy destination type records what is in flight.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { parseDestination } from '../src/config/destinations.js';
import { DestinationStore } from '../src/destinations/store.js';
import { Forwarder } from '../src/forwarder/forwarder.js';
import { groupIdFor } from '../src/forwarder/pipeline.js';
import { createKafka, kafkaSettingsFromEnv } from '../src/kafka/client.js';
import { SINK_TYPES, SinkRegistry } from '../src/sinks/registry.js';
import type { Sink, SinkRecord, SinkType } from '../src/sinks/sink.js';
import { apiEventWithId } from './helpers/records.js';
import { createTopics, deleteTopics, kafkaClient, publishEvents, uniqueName } from '../testkit/kafka.js';
import { getServices } from '../testkit/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a spy destination saw: sends in flight per partition and overall, offsets in arrival order. */
class Spy {
  inFlight = 0;
  maxInFlight = 0;
  readonly inFlightPerPartition = new Map<string, number>();
  maxPerPartition = 0;
  readonly offsets = new Map<string, bigint[]>();
  delivered = 0;
}
const spies = new Map<string, Spy>();

const spySinkType: SinkType<Record<string, never>> = {
  type: 'spy',
  title: 'a spy',
  description: 'records what is in flight (this test only)',
  parseSettings: () => ({}),
  create: (_settings, context): Sink => {
    const spy = new Spy();
    spies.set(context.name, spy);
    return {
      type: 'spy',
      async send(batch: readonly SinkRecord[]) {
        const key = `${batch[0]!.topic}/${batch[0]!.partition}`;
        const mine = (spy.inFlightPerPartition.get(key) ?? 0) + 1;
        spy.inFlightPerPartition.set(key, mine);
        spy.maxPerPartition = Math.max(spy.maxPerPartition, mine);
        spy.maxInFlight = Math.max(spy.maxInFlight, ++spy.inFlight);
        await sleep(150); // a destination round trip
        spy.inFlight--;
        spy.inFlightPerPartition.set(key, mine - 1);
        const seen = spy.offsets.get(key) ?? [];
        for (const r of batch) seen.push(BigInt(r.offset));
        spy.offsets.set(key, seen);
        spy.delivered += batch.length;
        return { status: 'delivered' };
      },
      async healthcheck() { return { ok: true }; },
      async close() {},
    };
  },
};
const registry = new SinkRegistry([...SINK_TYPES, spySinkType]);

describe('forwarder partition concurrency', { timeout: 150_000 }, () => {
  let brokers: string[];
  let prefix: string;
  let store: DestinationStore;
  const running: Forwarder[] = [];
  const topics = () => ({ audit: `${prefix}-audit`, operational: `${prefix}-operational` });
  const RECORDS = 600;

  before(async () => {
    brokers = (await getServices()).kafkaBrokers;
    prefix = uniqueName('fwd-conc');
    await createTopics(brokers, Object.values(topics()), 3);
    store = new DestinationStore({ kafka: createKafka(kafkaSettingsFromEnv({ KAFKA_BROKERS: brokers.join(',') })), topic: `${prefix}-destinations`, registry });
    // 12 instances: their resourceIds spread over the 3 partitions.
    const events = Array.from({ length: RECORDS }, (_, i) => apiEventWithId(randomUUID(), { instance: `I-${i % 12}` }));
    await publishEvents(brokers, topics().operational, events);
  });

  after(async () => {
    await Promise.all(running.map((f) => f.stop()));
    await store?.close();
    if (prefix) await deleteTopics(brokers, [...Object.values(topics()), `${prefix}-destinations`, `${prefix}-deadletter`]);
  });

  async function committedTotal(destination: string): Promise<number> {
    const admin = kafkaClient(brokers).admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchOffsets({ groupId: groupIdFor(destination), topics: [topics().operational] });
      return offsets.flatMap((t) => t.partitions).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    } finally {
      await admin.disconnect();
    }
  }

  async function drain(partitionConcurrency: number): Promise<Spy> {
    const name = uniqueName(`spy-c${partitionConcurrency}`).toLowerCase();
    const forwarder = new Forwarder({
      kafka: kafkaSettingsFromEnv({ KAFKA_BROKERS: brokers.join(',') }),
      topics: topics(),
      destinationsTopic: `${prefix}-destinations`,
      deadLetterTopic: `${prefix}-deadletter`,
      registry,
      // Small chunks: many sends per partition, so overlap (or its absence) shows.
      chunkLimits: { maxRecords: 25 },
      tuning: { partitionConcurrency, commitIntervalMs: 1000 },
    });
    running.push(forwarder);
    await forwarder.start();
    await store.apply([parseDestination({ name, type: 'spy', categories: ['operational'] }, 'd', registry)]);
    const deadline = Date.now() + 90_000;
    while ((await committedTotal(name)) < RECORDS) {
      if (Date.now() > deadline) throw new Error(`${name}: not everything committed in time (${spies.get(name)?.delivered ?? 0} delivered)`);
      await sleep(250);
    }
    await forwarder.stop();
    return spies.get(name)!;
  }

  test('3 partitions at once: sends overlap across partitions, never within one; order kept; all committed', async () => {
    const spy = await drain(3);
    assert.equal(spy.delivered, RECORDS);
    assert.equal(spy.offsets.size, 3, 'records came from all 3 partitions');
    assert.ok(spy.maxInFlight > 1, `sends from different partitions overlapped (max in flight ${spy.maxInFlight})`);
    assert.equal(spy.maxPerPartition, 1, 'one send at a time per partition');
    for (const [key, offsets] of spy.offsets) {
      for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i]! > offsets[i - 1]!, `${key}: offsets in order`);
    }
  });

  test('concurrency 1: one send at a time overall', async () => {
    const spy = await drain(1);
    assert.equal(spy.delivered, RECORDS);
    assert.equal(spy.maxInFlight, 1);
  });
});
