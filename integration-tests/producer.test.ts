/** EventProducer against a real Kafka: routing, keys, headers, encoding, throughput, failure policy. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { defaultSchemaRegistry } from '../src/codec/schema-registry.js';
import { InsightLogsError, type ErrorCode } from '../src/errors.js';
import { buildApiEvent } from '../src/events/builders.js';
import type { InsightEvent } from '../src/events/types.js';
import { kafkaSettingsFromEnv, type KafkaSettings } from '../src/kafka/client.js';
import { EventProducer, type EventProducerOptions } from '../src/producer/event-producer.js';
import { createTopics, deleteTopics, readAll, uniqueName, type ReadMessage } from '../testkit/kafka.js';
import { apiEventWithId, idOf, resourceIdFor, workflowEventWithId } from './helpers/records.js';
import { getServices } from '../testkit/services.js';

const registry = defaultSchemaRegistry();

function settings(brokers: string[]): KafkaSettings {
  return kafkaSettingsFromEnv({ KAFKA_BROKERS: brokers.join(','), KAFKA_CLIENT_ID: uniqueName('producer-it') });
}

function hasCode(code: ErrorCode): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof InsightLogsError, `expected InsightLogsError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

function header(m: ReadMessage, name: string): string | undefined {
  const v = m.headers[name];
  return v === undefined ? undefined : String(Array.isArray(v) ? v[0] : v);
}

/** A dead broker address: nothing listens on port 1. */
const UNREACHABLE = ['127.0.0.1:1'];

describe('EventProducer against Kafka', () => {
  let brokers: string[];
  const topics = { audit: uniqueName('it-audit'), operational: uniqueName('it-operational') };
  const producers: EventProducer[] = [];
  const producer = (options: EventProducerOptions = {}): EventProducer => {
    const p = new EventProducer({ kafka: settings(brokers), topics, ...options });
    producers.push(p);
    return p;
  };

  before(async () => {
    brokers = (await getServices()).kafkaBrokers;
    await createTopics(brokers, [topics.audit, topics.operational], 3);
  });

  after(async () => {
    await Promise.allSettled(producers.map((p) => p.close()));
    await deleteTopics(brokers, [topics.audit, topics.operational]);
  });

  test('routes by category, keys by resourceId, labels the kind, encodes single-object Avro', async () => {
    const p = producer();
    await p.connect();
    const ids = { del: randomUUID(), get: randomUUID(), wf: randomUUID() };
    const del = buildApiEvent({
      resourceId: resourceIdFor('ROUTE-1'), operationName: 'Segments.DeleteSegmentAsync', method: 'DELETE', status: 204,
      uri: `https://ci.example.test/api/segments/1?testId=${ids.del}`,
    });
    // A caller-supplied category is ignored: the routing rule decides.
    const get = { ...apiEventWithId(ids.get, { instance: 'ROUTE-2' }), category: 'Audit' } as InsightEvent;
    const wf = workflowEventWithId(ids.wf, { instance: 'ROUTE-3' });
    await Promise.all([p.publish(del), p.publish(get), p.publish(wf)]);
    assert.equal(p.stats().published, 3);

    const audit = await readAll(brokers, topics.audit, { minMessages: 1, timeoutMs: 20_000 });
    const operational = await readAll(brokers, topics.operational, { minMessages: 2, timeoutMs: 20_000 });
    const find = (list: ReadMessage[], id: string) => list.find((m) => idOf(registry.decode(m.value!).event) === id);

    const a = find(audit, ids.del);
    assert.ok(a, 'DELETE event in the audit topic');
    assert.equal(a.key?.toString(), resourceIdFor('ROUTE-1'));
    assert.equal(header(a, 'kind'), 'APIEvent');
    assert.equal(header(a, 'content-type'), 'application/vnd.apache.avro+binary');
    assert.deepEqual(registry.decode(a.value!), { kind: 'APIEvent', event: { ...del, category: 'Audit' } });

    const g = find(operational, ids.get);
    assert.ok(g, 'GET event in the operational topic');
    assert.equal(g.key?.toString(), resourceIdFor('ROUTE-2'));
    assert.equal(registry.decode(g.value!).event.category, 'Operational');

    const w = find(operational, ids.wf);
    assert.ok(w, 'workflow event in the operational topic');
    assert.equal(header(w, 'kind'), 'WorkflowEvent');
    assert.deepEqual(registry.decode(w.value!), { kind: 'WorkflowEvent', event: wf });
    assert.equal(find(audit, ids.get), undefined);
    assert.equal(find(audit, ids.wf), undefined);
  });

  test('publishApi / publishWorkflow build and publish; invalid events are refused before queueing', async () => {
    const p = producer({ compression: 'gzip' });
    const id = randomUUID();
    await p.publishApi({ resourceId: resourceIdFor('BUILD-1'), operationName: 'Op', method: 'PUT', status: 200, uri: `https://x.test/?testId=${id}` });
    await p.publishWorkflow({ resourceId: resourceIdFor('BUILD-1'), operationType: 'Export', phase: 'Workflow', stage: 'Started', workflowJobId: id, resultType: 'Running' });
    await assert.rejects(p.publishApi({ resourceId: '/etc/passwd', operationName: 'Op', method: 'GET', status: 200 }), hasCode('EVENT_INVALID'));
    await assert.rejects(p.publish({ ...apiEventWithId(id), time: 'yesterday' } as InsightEvent), hasCode('EVENT_INVALID'));
    assert.deepEqual({ ...p.stats() }, { queued: 0, inFlight: 0, published: 2, failed: 0 });
    const audit = await readAll(brokers, topics.audit, { timeoutMs: 20_000 });
    assert.ok(audit.some((m) => idOf(registry.decode(m.value!).event) === id), 'gzip-compressed PUT event readable');
  });

  test('5,000 concurrent publishes are all acknowledged and present', async () => {
    const p = producer();
    await p.connect();
    const n = 5000;
    const events = Array.from({ length: n }, (_, i) => {
      const id = randomUUID();
      return i % 3 === 0 ? workflowEventWithId(id, { instance: 'LOAD-1' }) : apiEventWithId(id, { audit: i % 3 === 1, instance: `LOAD-${i % 7}` });
    });
    const wanted = new Set(events.map((e) => idOf(e)!));
    const started = process.hrtime.bigint();
    await Promise.all(events.map((e) => p.publish(e)));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(`producer throughput: ${n} events in ${(seconds * 1000).toFixed(0)} ms = ${Math.round(n / seconds)} events/s (acks=all, idempotent)`);
    assert.equal(p.stats().published, n);
    assert.equal(p.stats().failed, 0);

    const all = [...await readAll(brokers, topics.audit, { timeoutMs: 60_000 }), ...await readAll(brokers, topics.operational, { timeoutMs: 60_000 })];
    const seen = new Set(all.map((m) => idOf(registry.decode(m.value!).event)).filter((id) => id !== undefined && wanted.has(id)));
    assert.equal(seen.size, n, 'every published event is on a topic');
  });

  test('close() delivers everything accepted before it, then refuses more', async () => {
    const p = producer({ lingerMs: 50 });
    const events = Array.from({ length: 300 }, () => apiEventWithId(randomUUID(), { audit: true, instance: 'CLOSE-1' }));
    const acks = events.map((e) => p.publish(e));
    await p.close();
    await Promise.all(acks);
    assert.equal(p.stats().published, 300);
    await assert.rejects(p.publish(events[0]!), hasCode('PRODUCER_CLOSED'));
    await p.close(); // idempotent
    const wanted = new Set(events.map((e) => idOf(e)));
    const audit = await readAll(brokers, topics.audit, { timeoutMs: 30_000 });
    assert.equal(audit.filter((m) => wanted.has(idOf(registry.decode(m.value!).event))).length, 300);
  });
});

describe('EventProducer when Kafka is unreachable', () => {
  const unreachable = (options: EventProducerOptions = {}): EventProducer =>
    new EventProducer({ kafka: kafkaSettingsFromEnv({ KAFKA_BROKERS: UNREACHABLE.join(',') }), ...options });

  test('connect rejects KAFKA_UNAVAILABLE quickly, naming the brokers', async () => {
    const p = unreachable();
    const started = Date.now();
    await assert.rejects(p.connect(), (err: unknown) => hasCode('KAFKA_UNAVAILABLE')(err) && /127\.0\.0\.1:1/.test((err as Error).message));
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5000, `took ${elapsed} ms`);
    await p.close();
  });

  test('publish rejects PUBLISH_FAILED after deliveryTimeoutMs; emit reports to onError', async () => {
    const failures: InsightLogsError[] = [];
    const p = unreachable({ deliveryTimeoutMs: 1000, onError: (e) => failures.push(e) });
    const started = Date.now();
    p.emit(apiEventWithId(randomUUID()));
    await assert.rejects(p.publish(apiEventWithId(randomUUID())), hasCode('PUBLISH_FAILED'));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 900 && elapsed < 5000, `failed after ${elapsed} ms`);
    await p.flush();
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.code, 'PUBLISH_FAILED');
    assert.deepEqual({ ...p.stats() }, { queued: 0, inFlight: 0, published: 0, failed: 2 });
    await p.close();
  });

  test('a full queue rejects QUEUE_FULL at once; accepted events still fail visibly', async () => {
    const p = unreachable({ maxQueueSize: 3, deliveryTimeoutMs: 800 });
    const accepted = [1, 2, 3].map(() => p.publish(apiEventWithId(randomUUID(), { audit: true })));
    const started = Date.now();
    await assert.rejects(p.publish(apiEventWithId(randomUUID(), { audit: true })), hasCode('QUEUE_FULL'));
    assert.ok(Date.now() - started < 100, 'QUEUE_FULL is immediate');
    assert.equal(p.stats().queued, 3);
    const results = await Promise.allSettled(accepted);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
    for (const r of results) hasCode('PUBLISH_FAILED')((r as PromiseRejectedResult).reason);
    await p.close();
  });
});
