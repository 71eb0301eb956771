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
import { signSasToken } from '../testkit/eventhubs-double/auth.js';
import { OPERATOR_RETRY_AFTER_MS } from '../src/sinks/eventhubs/classify.js';
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

function createSink(hubs: Hubs, connectionString = eh.connectionString()): Sink {
  const settings = eventHubsSinkType.parseSettings({ connectionStringEnv: ENV_NAME, hubs }, 'destinations[0]');
  return eventHubsSinkType.create(settings, {
    name: 'it-eventhubs',
    categories: ['audit', 'operational'],
    logger: silentLogger,
    env: { [ENV_NAME]: connectionString },
  });
}

/** New hubs, created on the double first (it refuses unknown hubs, as the service does). */
async function freshHubs(): Promise<Hubs> {
  const hubs = { audit: uniqueName('it-audit'), operational: uniqueName('it-oper') };
  await eh.createHubs(Object.values(hubs));
  return hubs;
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
    contractHubs = await freshHubs();
    return createSink(contractHubs);
  },
  readBack: (category) => records(contractHubs[category]),
  makeUnavailable: () => eh.pause(),
  restore: () => eh.resume(),
});

describe('eventhubs sink specifics', () => {
  let sink: Sink;
  let hubs: Hubs;
  before(async () => {
    hubs = await freshHubs();
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
    const hub = await freshHubs();
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

describe('eventhubs sink meets the service\'s refusals (the strict double, the real SDK)', () => {
  /** A retryable outcome with an error message, for the assertions below. */
  async function retryableMessage(sink: Sink, batch: SinkRecord[]): Promise<{ message: string; retryAfterMs: number | undefined }> {
    const outcome = await sink.send(batch);
    assert.equal(outcome.status, 'retryable', JSON.stringify(outcome));
    if (outcome.status !== 'retryable') throw new Error('unreachable');
    return { message: outcome.error.message, retryAfterMs: outcome.retryAfterMs };
  }

  test('a wrong SharedAccessKey: retryable (slowly), the message names the destination, the refusal and what to fix; nothing dead-lettered, the key never shown', async () => {
    const hubs = await freshHubs();
    const wrongKey = Buffer.alloc(32, 9).toString('base64');
    const sink = createSink(hubs, eh.connectionString().replace(eh.policy.key, wrongKey));
    try {
      const { message, retryAfterMs } = await retryableMessage(sink, makeSinkRecords(3, { audit: true }));
      assert.match(message, /destination 'it-eventhubs'/);
      assert.match(message, /InvalidSignature/);
      assert.match(message, new RegExp(`to fix: check the connection string in environment variable ${ENV_NAME}: SharedAccessKeyName and SharedAccessKey`));
      assert.ok(!message.includes(wrongKey) && !message.includes(eh.policy.key), 'no key in the message');
      assert.equal(retryAfterMs, OPERATOR_RETRY_AFTER_MS);
      const health = await sink.healthcheck();
      assert.equal(health.ok, false);
      assert.match(!health.ok ? health.problem : '', /InvalidSignature.*to fix: check the connection string/);
    } finally {
      await sink.close();
    }
    assert.deepEqual(await records(hubs.audit), []);
  });

  test('an expired SharedAccessSignature in the connection string: retryable, "ExpiredToken", what to fix', async () => {
    const hubs = await freshHubs();
    const endpoint = eh.connectionString().split(';')[0]!;
    const expired = signSasToken(`${endpoint.replace('Endpoint=', '')}/`, eh.policy.name, eh.policy.key, Math.floor(Date.now() / 1000) - 5);
    const sink = createSink(hubs, `${endpoint};SharedAccessSignature=${expired};UseDevelopmentEmulator=true`);
    try {
      const { message } = await retryableMessage(sink, makeSinkRecords(2, { audit: false }));
      assert.match(message, /ExpiredToken: The token is expired/);
      assert.match(message, /to fix: .*SharedAccessSignature that is current/);
    } finally {
      await sink.close();
    }
  });

  test('a hub that does not exist: retryable (slowly), the message says to create it or change hubs; nothing dead-lettered', async () => {
    const hubs = { audit: uniqueName('missing-audit'), operational: uniqueName('missing-oper') };
    const sink = createSink(hubs);
    try {
      const { message, retryAfterMs } = await retryableMessage(sink, makeSinkRecords(2, { audit: true }));
      assert.match(message, /could not be found/);
      assert.match(message, new RegExp(`to fix: create event hub '${hubs.audit}' in the namespace`));
      assert.equal(retryAfterMs, OPERATOR_RETRY_AFTER_MS);
      // Provisioned later (as an operator would), the same batch goes through.
      await eh.createHubs(Object.values(hubs));
      const { outcome } = await sendUntilDelivered(sink, makeSinkRecords(2, { audit: true }));
      assert.equal(outcome.status, 'delivered');
    } finally {
      await sink.close();
    }
  });
});

describe('eventhubs sink and the tier\'s maximum event size', () => {
  for (const [tier, limit] of [['basic', 256 * 1024], ['standard', 1024 * 1024]] as const) {
    test(`${tier} (${limit / 1024} KB): a record of ~${Math.round((limit * 0.6) / 1024)} KB is delivered, one over ${limit / 1024} KB dead-lettered (RECORD_TOO_LARGE); bodies never above the limit`, async () => {
      const double = await startEventHubsDouble({ tier, partitions: 1 });
      const hubs = { audit: uniqueName(`${tier}-audit`), operational: uniqueName(`${tier}-oper`) };
      await double.createHubs(Object.values(hubs));
      const settings = eventHubsSinkType.parseSettings({ connectionStringEnv: ENV_NAME, hubs }, 'destinations[0]');
      const sink = eventHubsSinkType.create(settings, { name: `it-${tier}`, categories: ['audit', 'operational'], logger: silentLogger, env: { [ENV_NAME]: double.connectionString() } });
      const padded = (id: string, bytes: number, offset: string): SinkRecord => {
        const record = toSinkRecord(apiEventWithId(id, { audit: true }), { topic: 'insight-logs-audit', partition: 0, offset });
        (record.event as { uri: string }).uri += `&pad=${'x'.repeat(bytes)}`;
        record.json = JSON.stringify(record.event);
        return record;
      };
      try {
        const fits = padded('fits', Math.round(limit * 0.6), '1');
        const tooBig = padded('too-big', limit + 1024, '2');
        const small = makeSinkRecords(20, { audit: true });
        const outcome = await sink.send([...small, fits, tooBig]);
        assert.equal(outcome.status, 'delivered', JSON.stringify(outcome).slice(0, 300));
        assert.deepEqual(outcome.status === 'delivered' ? outcome.rejected?.map((r) => [idOf(r.record.event), r.code]) : [], [['too-big', 'RECORD_TOO_LARGE']]);
        const events = await double.readAll(hubs.audit);
        for (const e of events) assert.ok(Buffer.byteLength(JSON.stringify(e.body)) <= limit);
        const ids = new Set(events.flatMap((e) => (e.body as { records: Record<string, unknown>[] }).records.map(idOf)));
        assert.ok(ids.has('fits'));
        for (const r of small) assert.ok(ids.has(idOf(r.event)));
      } finally {
        await sink.close();
        await double.stop();
      }
    });
  }
});
