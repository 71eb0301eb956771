import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApiEvent } from '../../events/builders.js';
import { toSinkRecord } from '../../forwarder/sink-record.js';
import { silentLogger } from '../../logging.js';
import { hasCode } from '../../errors.js';
import type { SinkRecord } from '../sink.js';
import { parseEventHubsSettings } from './config.js';
import type { EventBatch, HubProducer } from './service.js';
import { EventHubsSink, credentialsFor, eventHubsSinkType } from './sink.js';

const RESOURCE = '/SUBSCRIPTIONS/S/RESOURCEGROUPS/R/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I';
const SECRET_CS = 'Endpoint=sb://ns.example.test/;SharedAccessKeyName=k;SharedAccessKey=TOPSECRET';

function records(n: number, pad = 0): SinkRecord[] {
  return Array.from({ length: n }, (_, i) => toSinkRecord(
    buildApiEvent({ resourceId: RESOURCE, operationName: 'Op.Run', method: 'POST', status: 200, path: '/p', uri: `https://x.test/p?i=${i}&pad=${'x'.repeat(pad)}` }),
    { topic: 't', partition: 0, offset: String(i) },
  ));
}

/** A fake hub: batches of `maxSize` bytes counting bodies only, failures on demand. */
function fakeHub(maxSize: number) {
  const sent: { partitionKey: string; bodies: Buffer[] }[] = [];
  const state = { failNext: 0, closed: 0, created: 0 };
  const factory = (_c: unknown, hub: string): HubProducer => {
    state.created++;
    return {
      hub,
      async createBatch(partitionKey) {
        const bodies: Buffer[] = [];
        let size = 0;
        const batch: EventBatch & { partitionKey: string; bodies: Buffer[] } = {
          maxSizeInBytes: maxSize, partitionKey, bodies,
          get count() { return bodies.length; },
          tryAdd(body) { if (size + body.length > maxSize) return false; size += body.length; bodies.push(body); return true; },
        };
        return batch;
      },
      async sendBatch(batch) {
        if (state.failNext > 0) { state.failNext--; throw Object.assign(new Error('conn gone ' + SECRET_CS), { code: 'ConnectionForcedError' }); }
        const b = batch as EventBatch & { partitionKey: string; bodies: Buffer[] };
        sent.push({ partitionKey: b.partitionKey, bodies: b.bodies });
      },
      async getProperties() { return { name: hub, partitionIds: ['0'] }; },
      async close() { state.closed++; },
    };
  };
  return { sent, state, factory };
}

const settings = parseEventHubsSettings({ connectionStringEnv: 'EH_CS' }, 'd');
const context = { name: 'hub', categories: ['audit', 'operational'] as const, logger: silentLogger, env: { EH_CS: SECRET_CS } };

test('delivers every record, several per body, with the resourceId as partition key', async () => {
  const hub = fakeHub(8192);
  const sink = new EventHubsSink(settings, context, credentialsFor(settings, context.env), hub.factory);
  const batch = records(300);
  assert.deepEqual(await sink.send(batch), { status: 'delivered' });
  const bodies = hub.sent.flatMap((s) => s.bodies);
  const delivered = bodies.flatMap((b) => (JSON.parse(b.toString()) as { records: unknown[] }).records);
  assert.equal(delivered.length, 300);
  assert.ok(bodies.length < 100, `expected packing, got ${bodies.length} bodies`);
  assert.ok(hub.sent.every((s) => s.partitionKey === RESOURCE));
  await sink.close();
});

test('a record too large alone is rejected with RECORD_TOO_LARGE, the rest delivered', async () => {
  const hub = fakeHub(4096);
  const sink = new EventHubsSink(settings, context, credentialsFor(settings, context.env), hub.factory);
  const big = records(1, 10_000)[0]!;
  const outcome = await sink.send([...records(5), big]);
  assert.equal(outcome.status, 'delivered');
  assert.ok(outcome.status === 'delivered' && outcome.rejected?.length === 1 && outcome.rejected[0]!.code === 'RECORD_TOO_LARGE' && outcome.rejected[0]!.record === big);
  await sink.close();
});

test('a connection error is retryable, without the secret, and the client is recreated', async () => {
  const hub = fakeHub(8192);
  const sink = new EventHubsSink(settings, context, credentialsFor(settings, context.env), hub.factory);
  hub.state.failNext = 1;
  const outcome = await sink.send(records(3));
  assert.equal(outcome.status, 'retryable');
  assert.ok(outcome.status === 'retryable' && !outcome.error.message.includes('TOPSECRET') && outcome.error.message.includes('ns.example.test'));
  assert.equal(hub.state.closed, 1);
  assert.equal((await sink.send(records(3))).status, 'delivered');
  assert.equal(hub.state.created, 2);
  await sink.close();
  await sink.close();
  assert.equal(hub.state.closed, 2);
});

test('a missing connection string variable is SECRET_MISSING naming the variable, not a value', () => {
  assert.throws(() => eventHubsSinkType.create(settings, { ...context, env: {} }), (e: unknown) => hasCode(e, 'SECRET_MISSING') && /EH_CS/.test((e as Error).message));
});

test('concurrent sends: a failed send resets only the client it used, never a replacement another send already made', async () => {
  const hub = fakeHub(8192);
  let releaseSlowFailure!: () => void;
  const slowFailure = new Promise<void>((resolve) => { releaseSlowFailure = resolve; });
  let calls = 0;
  const factory = (c: unknown, name: string): HubProducer => {
    const producer = hub.factory(c, name);
    const id = hub.state.created;
    return {
      ...producer,
      async sendBatch(batch, signal) {
        calls++;
        // Client 1: the first send fails at once, the second fails later (after a replacement exists).
        if (id === 1 && calls === 1) throw Object.assign(new Error('conn gone'), { code: 'ConnectionForcedError' });
        if (id === 1) { await slowFailure; throw Object.assign(new Error('conn gone'), { code: 'ConnectionForcedError' }); }
        return producer.sendBatch(batch, signal);
      },
    };
  };
  const sink = new EventHubsSink(settings, context, credentialsFor(settings, context.env), factory);
  const first = sink.send(records(3));
  const second = sink.send(records(3));
  assert.equal((await first).status, 'retryable');
  // A third send gets a fresh client (2) while the second is still failing on client 1.
  assert.equal((await sink.send(records(3))).status, 'delivered');
  releaseSlowFailure();
  assert.equal((await second).status, 'retryable');
  // Client 2 is still in use: the next send needs no new client.
  assert.equal((await sink.send(records(3))).status, 'delivered');
  assert.equal(hub.state.created, 2);
  await sink.close();
});
