/**
 * Two forwarder processes (here: two in-process Forwarders with their own Kafka clients)
 * share a destination's partitions through its consumer group; when one stops, the other
 * takes over with no loss. A stop in the middle of a slow destination commits exactly what
 * was delivered, and a restarted forwarder delivers the rest.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { defaultSchemaRegistry } from '../src/codec/schema-registry.js';
import { parseDestination } from '../src/config/destinations.js';
import { DestinationStore } from '../src/destinations/store.js';
import { kindOf, type InsightEvent } from '../src/events/types.js';
import { Forwarder, type ForwarderOptions } from '../src/forwarder/forwarder.js';
import { groupIdFor } from '../src/forwarder/pipeline.js';
import { createKafka, kafkaSettingsFromEnv } from '../src/kafka/client.js';
import { dropMemoryStore, memoryStore } from '../src/sinks/memory/store.js';
import { apiEventWithId, idOf, workflowEventWithId } from './helpers/records.js';
import { createTopics, deleteTopics, kafkaClient, uniqueName } from '../testkit/kafka.js';
import { getServices } from '../testkit/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let brokers: string[];
let prefix: string;
let store: DestinationStore;
const topics = () => ({ audit: `${prefix}-audit`, operational: `${prefix}-operational` });
const names: string[] = [];
const running: Forwarder[] = [];

function forwarderOptions(extra: Partial<ForwarderOptions> = {}): ForwarderOptions {
  return {
    kafka: kafkaSettingsFromEnv({ KAFKA_BROKERS: brokers.join(',') }),
    topics: topics(),
    destinationsTopic: `${prefix}-destinations`,
    deadLetterTopic: `${prefix}-deadletter`,
    retry: { initialDelayMs: 50, maxDelayMs: 200 },
    ...extra,
  };
}

async function startForwarder(extra: Partial<ForwarderOptions> = {}): Promise<Forwarder> {
  const f = new Forwarder(forwarderOptions(extra));
  running.push(f);
  await f.start();
  return f;
}

async function publishMix(n: number): Promise<string[]> {
  const producer = kafkaClient(brokers).producer();
  await producer.connect();
  const ids = Array.from({ length: n }, () => randomUUID());
  const encode = (e: InsightEvent) => ({ key: e.resourceId, value: defaultSchemaRegistry().encode(kindOf(e), e) });
  try {
    const events = ids.map((id, i) => (i % 3 === 0 ? apiEventWithId(id, { audit: true, instance: `I-${i % 7}` })
      : i % 3 === 1 ? apiEventWithId(id, { instance: `I-${i % 7}` }) : workflowEventWithId(id, { instance: `I-${i % 7}` })));
    await producer.send({ topic: topics().audit, acks: -1, messages: events.filter((e) => e.category === 'Audit').map(encode) });
    await producer.send({ topic: topics().operational, acks: -1, messages: events.filter((e) => e.category !== 'Audit').map(encode) });
  } finally {
    await producer.disconnect();
  }
  return ids;
}

async function committedTotal(destination: string): Promise<number> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchOffsets({ groupId: groupIdFor(destination), topics: Object.values(topics()) });
    return offsets.flatMap((t) => t.partitions).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

const idsIn = (name: string) => new Set(memoryStore(name).records.map((r) => idOf(r.event)!));

before(async () => {
  brokers = (await getServices()).kafkaBrokers;
  prefix = uniqueName('fwd-scale');
  await createTopics(brokers, Object.values(topics()), 3);
  store = new DestinationStore({ kafka: createKafka(kafkaSettingsFromEnv({ KAFKA_BROKERS: brokers.join(',') })), topic: `${prefix}-destinations` });
});

after(async () => {
  await Promise.all(running.map((f) => f.stop()));
  await store?.close();
  for (const n of names) dropMemoryStore(n);
  if (prefix) await deleteTopics(brokers, [...Object.values(topics()), `${prefix}-destinations`, `${prefix}-deadletter`]);
});

test('two forwarders share the partitions; when one stops the other takes over with no loss', { timeout: 180_000 }, async () => {
  const name = uniqueName('shared').toLowerCase();
  names.push(name);
  await store.apply([parseDestination({ name, type: 'memory' }, 'd')]);
  const a = await startForwarder();
  const b = await startForwarder();
  await Promise.all([a.waitUntilReady(60_000), b.waitUntilReady(60_000)]);
  const first = await publishMix(60);
  await eventually(() => first.every((id) => idsIn(name).has(id)), 60_000, 'first 60 records');
  const deliveredA = a.pipelineStats(name)!.delivered;
  const deliveredB = b.pipelineStats(name)!.delivered;
  assert.ok(deliveredA > 0 && deliveredB > 0, `both instances work: a=${deliveredA} b=${deliveredB}`);

  await a.stop();
  const second = await publishMix(60);
  await eventually(() => second.every((id) => idsIn(name).has(id)), 90_000, 'records after one instance stopped');
  assert.equal(a.pipelineStats(name)!.delivered, deliveredA, 'the stopped instance delivered nothing more');
  assert.ok(b.pipelineStats(name)!.delivered >= deliveredB + 60);
  await eventually(async () => (await committedTotal(name)) === 120, 15_000, 'all 120 committed');
  await b.stop();
});

test('stop() in the middle of a slow destination commits exactly what was delivered; a restart delivers the rest', { timeout: 180_000 }, async () => {
  const name = uniqueName('slow').toLowerCase();
  names.push(name);
  const ids = await publishMix(90);
  assert.equal(await committedTotal(name), 0);
  // A new destination starts at the oldest record: the first test's 120 come too.
  const total = 120 + 90;
  // 300 ms per chunk of 5: about 5 s for everything, so the stop lands mid-way.
  await store.apply([parseDestination({ name, type: 'memory', delayMs: 300 }, 'd')]);
  const f = await startForwarder({ chunkLimits: { maxRecords: 5 } });
  await eventually(() => memoryStore(name).records.length >= 20, 60_000, 'some records delivered');
  const started = Date.now();
  await f.stop();
  const stopMs = Date.now() - started;
  assert.ok(stopMs < 10_000, `stop took ${stopMs} ms`);
  const delivered = f.pipelineStats(name)!.delivered;
  assert.ok(delivered >= 20 && delivered < total, `stopped mid-way (${delivered} of ${total})`);
  // Every record of every delivered chunk is committed; nothing beyond.
  assert.equal(await committedTotal(name), delivered);
  assert.equal(f.pipelineStats(name)!.state, 'stopped');

  const g = await startForwarder({ chunkLimits: { maxRecords: 50 } });
  // The slow destination still applies (same config); wait for the rest.
  await eventually(() => ids.every((id) => idsIn(name).has(id)), 90_000, 'the rest after restart');
  await eventually(async () => (await committedTotal(name)) === total, 30_000, 'all committed');
  assert.ok(g.pipelineStats(name)!.delivered <= total - delivered + 10, 'only the undelivered rest (plus at most an abandoned chunk) is sent again');
});
