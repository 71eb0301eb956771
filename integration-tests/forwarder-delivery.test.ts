/**
 * The forwarder against a real Kafka with in-memory destinations: routing per category,
 * dead-lettering with headers while good records flow, no commit before delivery with a
 * flaky destination, destinations added and removed while it runs, metrics and health.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { defaultSchemaRegistry } from '../src/codec/schema-registry.js';
import { parseDestination } from '../src/config/destinations.js';
import { DestinationStore } from '../src/destinations/store.js';
import type { InsightEvent } from '../src/events/types.js';
import { kindOf } from '../src/events/types.js';
import { DEADLETTER_HEADERS } from '../src/forwarder/dead-letter.js';
import { Forwarder } from '../src/forwarder/forwarder.js';
import { groupIdFor } from '../src/forwarder/pipeline.js';
import { createKafka, kafkaSettingsFromEnv } from '../src/kafka/client.js';
import { dropMemoryStore, memoryStore } from '../src/sinks/memory/store.js';
import { apiEventWithId, idOf, workflowEventWithId } from './helpers/records.js';
import { createTopics, deleteTopics, kafkaClient, readAll, uniqueName } from '../testkit/kafka.js';
import { getServices } from '../testkit/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Env {
  brokers: string[];
  topics: { audit: string; operational: string };
  deadLetterTopic: string;
  destinationsTopic: string;
}

async function publish(brokers: string[], topic: string, values: { key: string; value: Buffer }[]): Promise<void> {
  const producer = kafkaClient(brokers).producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: values });
  } finally {
    await producer.disconnect();
  }
}

function encoded(event: InsightEvent): { key: string; value: Buffer } {
  return { key: event.resourceId, value: defaultSchemaRegistry().encode(kindOf(event), event) };
}

/** Publishes n audit (POST) and n operational (GET + workflow) events; returns their ids. */
async function publishMix(env: Env, n: number): Promise<{ audit: string[]; operational: string[] }> {
  const audit = Array.from({ length: n }, () => randomUUID());
  const operational = Array.from({ length: n }, () => randomUUID());
  await publish(env.brokers, env.topics.audit, audit.map((id, i) => encoded(apiEventWithId(id, { audit: true, instance: `INST-${i % 4}` }))));
  await publish(env.brokers, env.topics.operational, operational.map((id, i) =>
    encoded(i % 2 ? workflowEventWithId(id, { instance: `INST-${i % 4}` }) : apiEventWithId(id, { audit: false, instance: `INST-${i % 4}` }))));
  return { audit, operational };
}

async function committedTotal(brokers: string[], destination: string, topics: string[]): Promise<number> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchOffsets({ groupId: groupIdFor(destination), topics });
    return offsets.flatMap((t) => t.partitions).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

async function endTotal(brokers: string[], topics: string[]): Promise<number> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    let n = 0;
    for (const t of topics) n += (await admin.fetchTopicOffsets(t)).reduce((s, o) => s + Number(o.high), 0);
    return n;
  } finally {
    await admin.disconnect();
  }
}

async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

const ids = (name: string): Set<string> => new Set(memoryStore(name).records.map((r) => idOf(r.event)!));

describe('forwarder (memory destinations, real Kafka)', { timeout: 240_000 }, () => {
  let env: Env;
  let forwarder: Forwarder;
  let store: DestinationStore;
  const storeKafka = () => createKafka(kafkaSettingsFromEnv({ KAFKA_BROKERS: env.brokers.join(',') }));
  const names: string[] = [];
  const dest = (prefix: string) => { const n = uniqueName(prefix).toLowerCase(); names.push(n); return n; };

  before(async () => {
    const services = await getServices();
    const id = uniqueName('fwd');
    env = {
      brokers: services.kafkaBrokers,
      topics: { audit: `${id}-audit`, operational: `${id}-operational` },
      deadLetterTopic: `${id}-deadletter`,
      destinationsTopic: `${id}-destinations`,
    };
    await createTopics(env.brokers, [env.topics.audit, env.topics.operational], 3);
    store = new DestinationStore({ kafka: storeKafka(), topic: env.destinationsTopic });
    forwarder = new Forwarder({
      kafka: kafkaSettingsFromEnv({ KAFKA_BROKERS: env.brokers.join(',') }),
      topics: env.topics,
      destinationsTopic: env.destinationsTopic,
      deadLetterTopic: env.deadLetterTopic,
      retry: { initialDelayMs: 50, maxDelayMs: 200 },
      lagIntervalMs: 1000,
      metricsPort: 0,
    });
    await forwarder.start();
  });

  after(async () => {
    await forwarder?.stop();
    await store?.close();
    for (const n of names) dropMemoryStore(n);
    if (env) await deleteTopics(env.brokers, [env.topics.audit, env.topics.operational, env.deadLetterTopic, env.destinationsTopic]);
  });

  test('every record reaches its destinations; an audit-only destination never gets operational records', async () => {
    const all = dest('all');
    const auditOnly = dest('audit-only');
    await store.apply([
      parseDestination({ name: all, type: 'memory' }, 'd'),
      parseDestination({ name: auditOnly, type: 'memory', categories: ['audit'] }, 'd'),
    ]);
    const published = await publishMix(env, 20);
    await memoryStore(all).waitFor(40, 60_000);
    await memoryStore(auditOnly).waitFor(20, 60_000);
    await sleep(1000); // anything wrongly routed would arrive by now
    assert.deepEqual(ids(all), new Set([...published.audit, ...published.operational]));
    assert.deepEqual(ids(auditOnly), new Set(published.audit));
    assert.ok(memoryStore(auditOnly).records.every((r) => r.event.category === 'Audit'));
    // The audit-only group never even subscribed to the operational topic.
    assert.equal(await committedTotal(env.brokers, auditOnly, [env.topics.operational]), 0);
    const ends = await endTotal(env.brokers, [env.topics.audit]);
    await eventually(async () => (await committedTotal(env.brokers, auditOnly, [env.topics.audit])) === ends, 10_000, 'audit-only commits');
    const stats = forwarder.pipelineStats(all)!;
    assert.equal(stats.deadLettered, 0);
    assert.ok(stats.delivered >= 40);
  });

  test('undecodable, unknown-fingerprint and invalid records are dead-lettered with headers; good ones keep flowing', async () => {
    const name = dest('dlq');
    await store.apply([parseDestination({ name, type: 'memory', categories: ['operational'] }, 'd')]);
    await forwarder.waitUntilReady(60_000);
    const key = 'same-partition-key';
    const good = [randomUUID(), randomUUID(), randomUUID()];
    const valid = (id: string) => ({ key, value: encoded(apiEventWithId(id)).value });
    const invalidEvent = { ...apiEventWithId(randomUUID()), resourceId: '/not/a/resource/id' } as InsightEvent;
    await publish(env.brokers, env.topics.operational, [
      valid(good[0]!),
      { key, value: Buffer.from('this is not avro') },
      valid(good[1]!),
      { key, value: Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.alloc(8, 0x5a), Buffer.from([2, 4])]) },
      { key, value: defaultSchemaRegistry().encode('APIEvent', invalidEvent) },
      valid(good[2]!),
    ]);
    await eventually(() => good.every((id) => ids(name).has(id)), 60_000, 'good records');
    const dead = (await readAll(env.brokers, env.deadLetterTopic, { timeoutMs: 30_000, minMessages: 3 }))
      .filter((m) => String(m.headers[DEADLETTER_HEADERS.destination]) === name);
    assert.deepEqual(dead.map((m) => String(m.headers[DEADLETTER_HEADERS.code])).sort(), ['DECODE_FAILED', 'EVENT_INVALID', 'SCHEMA_UNKNOWN_FINGERPRINT']);
    for (const m of dead) {
      assert.equal(String(m.key), key, 'original key kept');
      assert.equal(String(m.headers[DEADLETTER_HEADERS.sourceTopic]), env.topics.operational);
      assert.match(String(m.headers[DEADLETTER_HEADERS.sourceOffset]), /^\d+$/);
      assert.match(String(m.headers[DEADLETTER_HEADERS.sourcePartition]), /^\d+$/);
      assert.ok(String(m.headers[DEADLETTER_HEADERS.reason]).length > 5);
      assert.ok(!Number.isNaN(Date.parse(String(m.headers[DEADLETTER_HEADERS.time]))));
    }
    assert.equal(String(dead.find((m) => String(m.headers[DEADLETTER_HEADERS.code]) === 'DECODE_FAILED')!.value), 'this is not avro', 'original bytes kept');
    const ends = await endTotal(env.brokers, [env.topics.operational]);
    await eventually(async () => (await committedTotal(env.brokers, name, [env.topics.operational])) === ends, 10_000, 'commit past dead-lettered records');
    assert.equal(forwarder.pipelineStats(name)!.deadLettered, 3);
  });

  test('records a destination rejects (too large) are dead-lettered and committed past', async () => {
    const name = dest('tiny');
    await store.apply([parseDestination({ name, type: 'memory', categories: ['audit'], maxRecordBytes: 1 }, 'd')]);
    await eventually(() => forwarder.pipelineStats(name)?.state === 'running', 30_000, 'tiny destination started');
    const ends = await endTotal(env.brokers, [env.topics.audit]);
    await eventually(async () => (await committedTotal(env.brokers, name, [env.topics.audit])) === ends, 60_000, 'commit past rejected records');
    assert.equal(memoryStore(name).records.length, 0);
    assert.equal(forwarder.pipelineStats(name)!.deadLettered, ends);
    const dead = (await readAll(env.brokers, env.deadLetterTopic, { timeoutMs: 30_000 }))
      .filter((m) => String(m.headers[DEADLETTER_HEADERS.destination]) === name);
    assert.equal(dead.length, ends);
    assert.ok(dead.every((m) => String(m.headers[DEADLETTER_HEADERS.code]) === 'RECORD_TOO_LARGE'));
    // The original Avro bytes, not the JSON, are what the dead-letter topic keeps.
    assert.ok(dead.every((m) => m.value![0] === 0xc3 && m.value![1] === 0x01));
  });

  test('a flaky destination: nothing is committed until the chunk is delivered, then everything arrives', async () => {
    const name = dest('flaky');
    // Nine refusals, each asking for 1.5 s. The 3 partitions are sent concurrently, so a round
    // of refusals uses up to 3 of them: at least three rounds (4.5 s) of nothing stored and
    // nothing committed, whatever the split of records over partitions. (With 3 refusals, one
    // round could use them all and commits came 1.5 s after the first send: a race with the check.)
    await store.apply([parseDestination({ name, type: 'memory', categories: ['audit'], retryableTimes: 9, retryAfterMs: 1500 }, 'd')]);
    await forwarder.waitUntilReady(60_000);
    const before = await endTotal(env.brokers, [env.topics.audit]);
    const published = await publishMix(env, 10);
    await eventually(() => memoryStore(name).sends >= 1, 30_000, 'first send');
    await sleep(1000);
    assert.equal(memoryStore(name).records.length, 0);
    assert.equal(await committedTotal(env.brokers, name, [env.topics.audit]), 0, 'committed while the destination refused');
    await memoryStore(name).waitFor(before + 10, 60_000);
    assert.ok(published.audit.every((id) => ids(name).has(id)));
    assert.ok(forwarder.pipelineStats(name)!.retries >= 3);
    const ends = await endTotal(env.brokers, [env.topics.audit]);
    await eventually(async () => (await committedTotal(env.brokers, name, [env.topics.audit])) === ends, 10_000, 'commit after delivery');
  });

  test('destinations added and removed while the forwarder runs', async () => {
    const first = dest('first');
    const second = dest('second');
    await store.apply([parseDestination({ name: first, type: 'memory', categories: ['audit'] }, 'd')]);
    await eventually(() => forwarder.pipelineStats(first)?.state === 'running', 30_000, 'first destination started');
    const batch1 = await publishMix(env, 5);
    await eventually(() => batch1.audit.every((id) => ids(first).has(id)), 60_000, 'first destination delivers');

    await store.apply([parseDestination({ name: second, type: 'memory', categories: ['audit'] }, 'd')]);
    await store.remove(first);
    await eventually(() => forwarder.pipelineStats(first)?.state === 'stopped', 60_000, 'first destination stopped');
    assert.ok(!(await store.list()).some((d) => d.name === first));
    await assert.rejects(store.remove(first), /no destination named/);
    const countFirst = memoryStore(first).records.length;
    const batch2 = await publishMix(env, 5);
    await eventually(() => [...batch1.audit, ...batch2.audit].every((id) => ids(second).has(id)), 60_000, 'second destination delivers old and new');
    await sleep(1000);
    assert.equal(memoryStore(first).records.length, countFirst, 'a removed destination receives nothing more');
  });

  test('metrics, health and readiness', async () => {
    await forwarder.waitUntilReady(60_000);
    const base = `http://127.0.0.1:${forwarder.metricsPort}`;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const all = names.find((n) => n.startsWith('all-'))!;
    const out = new RegExp(`insight_logs_records_out_total\\{destination="${all}"\\} (\\d+)`).exec(metrics);
    assert.ok(out, 'records_out of the first destination');
    assert.equal(Number(out[1]), forwarder.pipelineStats(all)!.delivered);
    assert.ok(Number(out[1]) >= 40);
    assert.match(metrics, /insight_logs_records_dead_lettered_total\{destination="dlq-[^"]+",code="DECODE_FAILED"\} 1/);
    assert.match(metrics, /insight_logs_retries_total\{destination="flaky-[^"]+"\} [3-9]/);
    assert.match(metrics, /insight_logs_consumer_lag_records\{destination="[^"]+",topic="[^"]+",partition="\d"\} 0/);
    assert.match(metrics, /insight_logs_last_success_timestamp_seconds\{destination=/);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { ready: boolean }).ready, true);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  });
});
