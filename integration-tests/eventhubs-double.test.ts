/**
 * The real @azure/event-hubs client against the project's Event Hubs TEST DOUBLE: what the
 * sink relies on works, and the double refuses what the service refuses (oversize transfers,
 * unknown hubs), so it can never be more lenient than Event Hubs.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventHubProducerClient } from '@azure/event-hubs';
import rhea from 'rhea';
import type { EventContext } from 'rhea';
import { startEventHubsDouble, type EventHubsEndpoint } from '../testkit/eventhubs.js';
import { uniqueName } from '../testkit/kafka.js';

const MAX = 64 * 1024;
const RETRY = { maxRetries: 0, timeoutInMs: 5_000, retryDelayInMs: 100 };

/** Sends one message with a plain rhea sender (no SDK size check) and returns the remote outcome. */
async function rawSend(port: number, address: string, body: Buffer): Promise<{ outcome: 'accepted' | 'rejected' | 'detached'; condition?: string }> {
  const container = rhea.create_container();
  const connection = container.connect({ host: '127.0.0.1', port, reconnect: false } as never);
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('raw send: no outcome in 10 s')), 10_000);
      const done = (r: { outcome: 'accepted' | 'rejected' | 'detached'; condition?: string }): void => { clearTimeout(timer); resolve(r); };
      const sender = connection.open_sender({ target: { address } });
      sender.once('sendable', () => sender.send({ body: rhea.message.data_section(body) } as never));
      sender.on('accepted', () => done({ outcome: 'accepted' }));
      sender.on('rejected', (ctx: EventContext) => done({ outcome: 'rejected', condition: (ctx.delivery as any)?.remote_state?.error?.condition }));
      sender.on('sender_close', (ctx: EventContext) => done({ outcome: 'detached', condition: (ctx.sender as any)?.error?.condition }));
      connection.on('connection_error', (ctx: EventContext) => reject(new Error(String((ctx.connection as any).error))));
    });
  } finally {
    connection.close();
  }
}

describe('Event Hubs test double with the real SDK', () => {
  let eh: EventHubsEndpoint;
  const hub = uniqueName('it-hub');
  let producer: EventHubProducerClient;

  before(async () => {
    eh = await startEventHubsDouble({ hubs: [hub], partitions: 3, maxMessageSize: MAX, autoCreate: false });
    producer = new EventHubProducerClient(eh.connectionString(), hub, { retryOptions: RETRY });
  });
  after(async () => {
    await producer?.close();
    await eh?.stop();
  });

  test('hub and partition properties', async () => {
    const props = await producer.getEventHubProperties();
    assert.equal(props.name, hub);
    assert.deepEqual(props.partitionIds, ['0', '1', '2']);
    assert.ok(props.createdOn instanceof Date && !Number.isNaN(props.createdOn.getTime()));
    assert.deepEqual(await producer.getPartitionIds(), ['0', '1', '2']);
    const p0 = await producer.getPartitionProperties('0');
    assert.equal(p0.partitionId, '0');
    assert.equal(typeof p0.isEmpty, 'boolean');
  });

  test('createBatch sizes itself from the negotiated max_message_size', async () => {
    const batch = await producer.createBatch({ partitionKey: 'k' });
    assert.equal(batch.maxSizeInBytes, MAX);
    await assert.rejects(producer.createBatch({ maxSizeInBytes: MAX + 1 }), /greater than maximum message size/);
  });

  test('sendBatch, then EventHubConsumerClient reads every event back with its partition key; one key, one partition', async () => {
    const keys = ['resource-a', 'resource-b'];
    for (const key of keys) {
      const batch = await producer.createBatch({ partitionKey: key });
      for (let i = 0; i < 5; i++) assert.ok(batch.tryAdd({ body: Buffer.from(JSON.stringify({ records: [{ key, i }] })) }));
      await producer.sendBatch(batch);
    }
    const events = await eh.readAll(hub, { minEvents: 10 });
    assert.equal(events.length, 10);
    for (const key of keys) {
      const mine = events.filter((e) => e.partitionKey === key);
      assert.equal(mine.length, 5);
      assert.equal(new Set(mine.map((e) => e.partitionId)).size, 1, 'all events of one key on one partition');
      assert.deepEqual(mine.map((e) => (e.body as { records: { i: number }[] }).records[0]!.i), [0, 1, 2, 3, 4]);
      const seqs = mine.map((e) => e.sequenceNumber);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    }
  });

  test('a transfer larger than max_message_size is rejected with amqp:link:message-size-exceeded; a smaller one is accepted', async () => {
    const port = Number(new URL(eh.connectionString().split(';')[0]!.replace('Endpoint=sb', 'http')).port);
    const big = await rawSend(port, hub, Buffer.alloc(MAX + 1, 'a'));
    assert.deepEqual(big, { outcome: 'rejected', condition: 'amqp:link:message-size-exceeded' });
    const small = await rawSend(port, hub, Buffer.from('{"records":[]}'));
    assert.equal(small.outcome, 'accepted');
  });

  test('an unknown hub is amqp:not-found', async () => {
    const other = new EventHubProducerClient(eh.connectionString(), uniqueName('missing'), { retryOptions: RETRY });
    try {
      await assert.rejects(other.getEventHubProperties(), (e: Error & { code?: string }) => /could not be found/.test(e.message));
      const port = Number(new URL(eh.connectionString().split(';')[0]!.replace('Endpoint=sb', 'http')).port);
      const outcome = await rawSend(port, 'no-such-hub', Buffer.from('{}'));
      assert.deepEqual(outcome, { outcome: 'detached', condition: 'amqp:not-found' });
    } finally {
      await other.close();
    }
  });

  test('busy N rejects the next N sends as server-busy; dropped connections are re-established by the SDK', async () => {
    await eh.busy(1);
    const batch = await producer.createBatch({ partitionKey: 'busy' });
    batch.tryAdd({ body: Buffer.from('{"records":[{"n":1}]}') });
    await assert.rejects(producer.sendBatch(batch), (e: Error & { code?: string }) => e.code === 'ServerBusyError');
    await producer.sendBatch(batch);
    await eh.dropConnections();
    const after = await producer.createBatch({ partitionKey: 'busy' });
    after.tryAdd({ body: Buffer.from('{"records":[{"n":2}]}') });
    let sent = false;
    for (let i = 0; i < 10 && !sent; i++) {
      try { await producer.sendBatch(after); sent = true; } catch { await new Promise((r) => setTimeout(r, 300)); }
    }
    assert.ok(sent, 'send after drop-connections should succeed within a few tries');
    const bodies = (await eh.readAll(hub)).filter((e) => e.partitionKey === 'busy').map((e) => (e.body as { records: { n: number }[] }).records[0]!.n);
    assert.deepEqual(bodies, [1, 2]);
  });
});
