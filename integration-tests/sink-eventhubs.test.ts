/**
 * The eventhubs sink against the Event Hubs TEST DOUBLE (a child process speaking AMQP to the
 * real SDK): the shared sink contract, then what is particular to Event Hubs — packed
 * `{"records":[…]}` bodies never above the maximum event size, oversize records rejected,
 * throttling reported as retryable, the resourceId as partition key.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { buildApiEvent } from '../src/events/builders.js';
import { toSinkRecord } from '../src/forwarder/sink-record.js';
import { silentLogger } from '../src/logging.js';
import type { Sink, SinkRecord } from '../src/sinks/sink.js';
import { eventHubsSinkType } from '../src/sinks/eventhubs/sink.js';
import { startEventHubsDouble, type EventHubsEndpoint } from '../testkit/eventhubs.js';
import { uniqueName } from '../testkit/kafka.js';
import { apiEventWithId, idOf, makeSinkRecords } from './helpers/records.js';
import { sinkContract } from './helpers/sink-contract.js';

const MAX = 64 * 1024;
const ENV_NAME = 'INSIGHT_LOGS_TEST_EVENTHUBS_CS';

let eh: EventHubsEndpoint;
before(async () => {
  eh = await startEventHubsDouble({ maxMessageSize: MAX, partitions: 2 });
});
after(async () => {
  await eh?.stop();
});

interface Hubs { audit: string; operational: string }

function createSink(hubs: Hubs): Sink {
  const settings = eventHubsSinkType.parseSettings({ connectionStringEnv: ENV_NAME, hubs }, 'destinations[0]');
  return eventHubsSinkType.create(settings, {
    name: 'it-eventhubs',
    categories: ['audit', 'operational'],
    logger: silentLogger,
    env: { [ENV_NAME]: eh.connectionString() },
  });
}

function freshHubs(): Hubs {
  return { audit: uniqueName('it-audit'), operational: uniqueName('it-oper') };
}

async function records(hub: string): Promise<Record<string, unknown>[]> {
  const events = await eh.readAll(hub);
  return events.flatMap((e) => (e.body as { records: Record<string, unknown>[] }).records);
}

/** Sends until delivered (the forwarder's job, done by hand here). */
async function sendUntilDelivered(sink: Sink, batch: SinkRecord[], tries = 20) {
  let outcome = await sink.send(batch);
  const seen = [outcome.status];
  for (let i = 0; i < tries && outcome.status === 'retryable'; i++) {
    await new Promise((r) => setTimeout(r, 200));
    outcome = await sink.send(batch);
    seen.push(outcome.status);
  }
  return { outcome, seen };
}

let contractHubs: Hubs;
sinkContract('eventhubs (test double)', {
  async create() {
    contractHubs = freshHubs();
    return createSink(contractHubs);
  },
  readBack: (category) => records(contractHubs[category]),
  makeUnavailable: () => eh.pause(),
  restore: () => eh.resume(),
});

describe('eventhubs sink specifics', () => {
  let sink: Sink;
  let hubs: Hubs;
  before(() => {
    hubs = freshHubs();
    sink = createSink(hubs);
  });
  after(async () => {
    await sink?.close();
  });

  test(`2,000 records arrive once each, packed several per body, every body ≤ ${MAX} bytes`, async () => {
    const batch = makeSinkRecords(2000, { audit: false });
    assert.deepEqual(await sink.send(batch), { status: 'delivered' });
    const events = await eh.readAll(hubs.operational, { minEvents: 1 });
    const sizes = events.map((e) => Buffer.byteLength(JSON.stringify(e.body)));
    assert.ok(Math.max(...sizes) <= MAX, `largest body ${Math.max(...sizes)} bytes`);
    for (const e of events) assert.deepEqual(Object.keys(e.body as object), ['records']);
    const ids = events.flatMap((e) => (e.body as { records: Record<string, unknown>[] }).records.map(idOf));
    assert.equal(ids.length, 2000);
    assert.equal(new Set(ids).size, 2000);
    for (const r of batch) assert.ok(ids.includes(idOf(r.event)));
    const perBody = 2000 / events.length;
    assert.ok(perBody >= 20, `expected many records per body, got ${perBody.toFixed(1)} on average over ${events.length} events`);
    // Tight packing: bodies are mostly full.
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    assert.ok(mean > MAX * 0.6, `mean body ${Math.round(mean)} bytes is far below ${MAX}`);
  });

  test('a single record larger than the maximum event size is rejected with RECORD_TOO_LARGE, the rest delivered', async () => {
    const small = makeSinkRecords(3, { audit: true });
    const huge = toSinkRecord(apiEventWithId('huge', { audit: true }), { topic: 'insight-logs-audit', partition: 0, offset: '99' });
    (huge.event as { uri: string }).uri += `&pad=${'x'.repeat(MAX)}`;
    huge.json = JSON.stringify(huge.event);
    const outcome = await sink.send([...small, huge]);
    assert.equal(outcome.status, 'delivered');
    assert.ok(outcome.status === 'delivered' && outcome.rejected?.length === 1);
    assert.equal(outcome.status === 'delivered' && outcome.rejected![0]!.code, 'RECORD_TOO_LARGE');
    assert.equal(outcome.status === 'delivered' && outcome.rejected![0]!.record, huge);
    const got = new Set((await records(hubs.audit)).map(idOf));
    for (const r of small) assert.ok(got.has(idOf(r.event)));
    assert.ok(!got.has('huge'));
  });

  test('server busy three times: retryable (with a retry-after), then delivered', async () => {
    const batch = makeSinkRecords(10, { audit: true });
    await eh.busy(3);
    const { outcome, seen } = await sendUntilDelivered(sink, batch);
    assert.equal(seen[0], 'retryable');
    assert.equal(outcome.status, 'delivered');
    const got = new Set((await records(hubs.audit)).map(idOf));
    for (const r of batch) assert.ok(got.has(idOf(r.event)));
  });

  test('first answer while busy carries the throttling reason and a retry-after', async () => {
    await eh.busy(2);
    const outcome = await sink.send(makeSinkRecords(2, { audit: true }));
    assert.equal(outcome.status, 'retryable', JSON.stringify(outcome));
    assert.ok(outcome.status === 'retryable' && outcome.retryAfterMs! > 0 && /throttl/.test(outcome.error.message));
    assert.ok(outcome.status === 'retryable' && !/SharedAccessKey=not-a-secret/.test(outcome.error.message));
    assert.equal((await sendUntilDelivered(sink, makeSinkRecords(2, { audit: true }))).outcome.status, 'delivered');
  });

  test('partition key is the resourceId (a digest when longer than 128 characters); one resource, one partition', async () => {
    // Computed here from docs/design.md's rule (resourceId, or sha256:<base64url digest> above
    // 128 characters), not by the code under test.
    const expectedPartitionKey = (id: string): string => (id.length <= 128 ? id : `sha256:${createHash('sha256').update(id, 'utf8').digest('base64url')}`);
    const shortId = '/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/SHORT';
    const short = Array.from({ length: 5 }, (_, i) => toSinkRecord(
      buildApiEvent({ resourceId: shortId, operationName: 'Op.Get', method: 'GET', status: 200, path: '/p', uri: `https://x.test/p?testId=short-${i}` }),
      { topic: 'insight-logs-operational', partition: 0, offset: String(i) },
    ));
    const longA = makeSinkRecords(5, { audit: false, instance: 'INSTANCE-A' });
    const longB = makeSinkRecords(5, { audit: false, instance: 'INSTANCE-B' });
    assert.ok(longA[0]!.event.resourceId.length > 128 && longB[0]!.event.resourceId.length > 128, 'the long resourceIds take the digest path');
    const hub = freshHubs();
    const own = createSink(hub);
    try {
      assert.equal((await own.send([...short, ...longA, ...longB])).status, 'delivered');
      const events = await eh.readAll(hub.operational);
      for (const group of [short, longA, longB]) {
        const resourceId = group[0]!.event.resourceId;
        const mine = events.filter((e) => (e.body as { records: { resourceId: string }[] }).records.some((r) => r.resourceId === resourceId));
        assert.ok(mine.length > 0);
        for (const e of mine) {
          assert.equal(e.partitionKey, expectedPartitionKey(resourceId));
          assert.ok((e.body as { records: { resourceId: string }[] }).records.every((r) => r.resourceId === resourceId), 'a body holds one resource');
        }
        assert.equal(new Set(mine.map((e) => e.partitionId)).size, 1);
      }
      assert.equal(events.find((e) => (e.body as { records: { resourceId: string }[] }).records[0]!.resourceId === shortId)!.partitionKey, shortId);
    } finally {
      await own.close();
    }
  });
});
