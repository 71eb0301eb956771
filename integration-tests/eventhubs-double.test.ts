/**
 * The real @azure/event-hubs client against the project's Event Hubs TEST DOUBLE: what the
 * sink relies on works, and the double refuses what the service refuses (bad, expired and
 * wrong-audience SAS tokens, management requests without a token, unknown hubs, partition
 * keys over 128 characters, transfers over the tier's size), so it can never be more lenient
 * than Event Hubs.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventHubProducerClient } from '@azure/event-hubs';
import rhea from 'rhea';
import type { EventContext } from 'rhea';
import { startEventHubsDouble, type EventHubsEndpoint } from '../testkit/eventhubs.js';
import { EVENTHUBS_AAD_AUDIENCE as EVENTHUBS_AUDIENCE, signSasToken } from '../testkit/eventhubs-double/auth.js';
import { createTestCertificates } from '../testkit/test-ca.js';
import { startTokenAuthority } from '../testkit/token-authority.js';
import { uniqueName } from '../testkit/kafka.js';

const MAX = 64 * 1024;
const RETRY = { maxRetries: 0, timeoutInMs: 5_000, retryDelayInMs: 100 };

type RawOutcome = { outcome: 'accepted' | 'rejected' | 'detached'; condition?: string };

/** One request/reply on `$cbs` or `$management` over a plain rhea connection; resolves with the reply's application properties. */
async function rawRequest(connection: rhea.Connection, node: '$cbs' | '$management', request: { application_properties: Record<string, unknown>; body?: unknown }): Promise<Record<string, unknown>> {
  const replyTo = `${node}-reply-${Math.random().toString(16).slice(2)}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${node}: no reply in 10 s`)), 10_000);
    const receiver = connection.open_receiver({ source: { address: node }, name: replyTo } as never);
    receiver.on('message', (ctx: EventContext) => {
      clearTimeout(timer);
      resolve((ctx.message?.application_properties ?? {}) as Record<string, unknown>);
    });
    const sender = connection.open_sender({ target: { address: node } });
    sender.once('sendable', () => sender.send({ message_id: 'req-1', reply_to: replyTo, ...request } as never));
  });
}

/** put-token for `audience` with a SAS token signed with `key`; resolves with the reply's status. */
function putToken(connection: rhea.Connection, audience: string, keyName: string, key: string, expiresAtSeconds = Math.floor(Date.now() / 1000) + 600): Promise<Record<string, unknown>> {
  return rawRequest(connection, '$cbs', {
    application_properties: { operation: 'put-token', type: 'servicebus.windows.net:sastoken', name: audience },
    body: signSasToken(audience, keyName, key, expiresAtSeconds),
  });
}

/**
 * Sends one message with a plain rhea sender (no SDK size check) and returns the remote
 * outcome; with `auth`, a put-token for the address comes first, as the SDK does.
 */
async function rawSend(port: number, address: string, body: Buffer, auth?: { keyName: string; key: string }): Promise<RawOutcome> {
  const container = rhea.create_container();
  const connection = container.connect({ host: '127.0.0.1', port, reconnect: false } as never);
  try {
    if (auth) assert.equal((await putToken(connection, `sb://127.0.0.1:${port}/${address}`, auth.keyName, auth.key))['status-code'], 202);
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('raw send: no outcome in 10 s')), 10_000);
      const done = (r: RawOutcome): void => { clearTimeout(timer); resolve(r); };
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
    eh = await startEventHubsDouble({ hubs: [hub], partitions: 3, maxMessageSize: MAX });
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
    const big = await rawSend(port, hub, Buffer.alloc(MAX + 1, 'a'), { keyName: eh.policy.name, key: eh.policy.key });
    assert.deepEqual(big, { outcome: 'rejected', condition: 'amqp:link:message-size-exceeded' });
    const small = await rawSend(port, hub, Buffer.from('{"records":[]}'), { keyName: eh.policy.name, key: eh.policy.key });
    assert.equal(small.outcome, 'accepted');
  });

  test('an unknown hub is amqp:not-found', async () => {
    const other = new EventHubProducerClient(eh.connectionString(), uniqueName('missing'), { retryOptions: RETRY });
    try {
      await assert.rejects(other.getEventHubProperties(), (e: Error & { code?: string }) => /could not be found/.test(e.message));
      const port = Number(new URL(eh.connectionString().split(';')[0]!.replace('Endpoint=sb', 'http')).port);
      const outcome = await rawSend(port, 'no-such-hub', Buffer.from('{}'), { keyName: eh.policy.name, key: eh.policy.key });
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

  /** A producer whose connection string carries `SharedAccessSignature=<token>` instead of a key. */
  function producerWithSignature(token: string): EventHubProducerClient {
    const endpoint = eh.connectionString().split(';')[0]!;
    return new EventHubProducerClient(`${endpoint};SharedAccessSignature=${token};UseDevelopmentEmulator=true`, hub, { retryOptions: RETRY });
  }

  async function refusal(client: EventHubProducerClient): Promise<Error & { code?: string }> {
    try {
      await client.getEventHubProperties();
    } catch (error) {
      return error as Error & { code?: string };
    } finally {
      await client.close();
    }
    throw new Error('the double accepted a token the service refuses');
  }

  test('SAS: a wrong key, an unknown policy, an expired token, a token for another hub are refused with 401 and the service\'s descriptions', async () => {
    const wrongKey = await refusal(new EventHubProducerClient(eh.connectionString().replace(eh.policy.key, Buffer.alloc(32, 7).toString('base64')), hub, { retryOptions: RETRY }));
    assert.equal(wrongKey.code, 'UnauthorizedError');
    assert.match(wrongKey.message, /InvalidSignature: The token has an invalid signature/);

    const unknownPolicy = await refusal(new EventHubProducerClient(eh.connectionString().replace(`SharedAccessKeyName=${eh.policy.name}`, 'SharedAccessKeyName=RootManageSharedAccessKey'), hub, { retryOptions: RETRY }));
    assert.equal(unknownPolicy.code, 'UnauthorizedError');
    assert.match(unknownPolicy.message, /InvalidSignature/);

    const endpoint = eh.connectionString().split(';')[0]!.replace('Endpoint=', '');
    const expired = await refusal(producerWithSignature(signSasToken(`${endpoint}/${hub}`, eh.policy.name, eh.policy.key, Math.floor(Date.now() / 1000) - 60)));
    assert.equal(expired.code, 'UnauthorizedError');
    assert.match(expired.message, /ExpiredToken: The token is expired\. Expiration time: '\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ'/);

    const otherHub = await refusal(producerWithSignature(signSasToken(`${endpoint}/some-other-hub`, eh.policy.name, eh.policy.key, Math.floor(Date.now() / 1000) + 600)));
    assert.equal(otherHub.code, 'UnauthorizedError');
    assert.match(otherHub.message, /InvalidAudience: The authorization header contains a token with a wrong audience/);

    // A namespace-wide token covers every hub below it, as on the service.
    const namespaceWide = producerWithSignature(signSasToken(`${endpoint}/`, eh.policy.name, eh.policy.key, Math.floor(Date.now() / 1000) + 600));
    try {
      assert.equal((await namespaceWide.getEventHubProperties()).name, hub);
    } finally {
      await namespaceWide.close();
    }
  });

  test('links and $management requests need a valid token: without put-token the attach is amqp:unauthorized-access; no security_token is 401', async () => {
    const port = Number(new URL(eh.connectionString().split(';')[0]!.replace('Endpoint=sb', 'http')).port);
    assert.deepEqual(await rawSend(port, hub, Buffer.from('{"records":[]}')), { outcome: 'detached', condition: 'amqp:unauthorized-access' });
    const container = rhea.create_container();
    const connection = container.connect({ host: '127.0.0.1', port, reconnect: false } as never);
    try {
      const withoutToken = await rawRequest(connection, '$management', { application_properties: { operation: 'READ', name: hub, type: 'com.microsoft:eventhub' } });
      assert.equal(withoutToken['status-code'], 401);
      const badToken = await rawRequest(connection, '$management', {
        application_properties: { operation: 'READ', name: hub, type: 'com.microsoft:eventhub', security_token: signSasToken(`sb://127.0.0.1:${port}/${hub}`, eh.policy.name, 'not-the-key', Math.floor(Date.now() / 1000) + 600) },
      });
      assert.equal(badToken['status-code'], 401);
      assert.match(String(badToken['status-description']), /InvalidSignature/);
      const cbsWrongKey = await putToken(connection, `sb://127.0.0.1:${port}/${hub}`, eh.policy.name, 'not-the-key');
      assert.equal(cbsWrongKey['status-code'], 401);
    } finally {
      connection.close();
    }
  });

  test('a partition key over 128 characters is refused (com.microsoft:argument-out-of-range); 128 is accepted', async () => {
    const longest = 'k'.repeat(128);
    const ok = await producer.createBatch({ partitionKey: longest });
    ok.tryAdd({ body: Buffer.from('{"records":[]}') });
    await producer.sendBatch(ok);
    const tooLong = await producer.createBatch({ partitionKey: 'k'.repeat(129) });
    tooLong.tryAdd({ body: Buffer.from('{"records":[]}') });
    await assert.rejects(producer.sendBatch(tooLong), (e: Error & { code?: string }) => e.code === 'ArgumentOutOfRangeError' && /maximum is 128/.test(e.message));
  });
});

describe('Event Hubs test double: maximum event size per tier', () => {
  for (const [tier, limit] of [['basic', 256 * 1024], ['standard', 1024 * 1024]] as const) {
    test(`${tier}: createBatch offers ${limit} bytes; a transfer of ${limit + 1} bytes is rejected, one of ${limit - 1024} accepted`, async () => {
      const hub = uniqueName(`it-${tier}`);
      const double = await startEventHubsDouble({ hubs: [hub], partitions: 1, tier });
      const producer = new EventHubProducerClient(double.connectionString(), hub, { retryOptions: RETRY });
      try {
        assert.equal(double.maxMessageSize, limit);
        assert.equal((await producer.createBatch()).maxSizeInBytes, limit);
        const port = Number(new URL(double.connectionString().split(';')[0]!.replace('Endpoint=sb', 'http')).port);
        const auth = { keyName: double.policy.name, key: double.policy.key };
        assert.deepEqual(await rawSend(port, hub, Buffer.alloc(limit + 1, 'a'), auth), { outcome: 'rejected', condition: 'amqp:link:message-size-exceeded' });
        assert.equal((await rawSend(port, hub, Buffer.alloc(limit - 1024, 'a'), auth)).outcome, 'accepted');
      } finally {
        await producer.close();
        await double.stop();
      }
    });
  }
});

describe('Event Hubs test double: Azure AD tokens on $cbs', () => {
  test('a JWT from the token authority is accepted; another signer, another audience or an expired one is 401 with the service\'s description', async () => {
    const certs = createTestCertificates();
    const authority = await startTokenAuthority(certs);
    const hub = uniqueName('it-jwt');
    const double = await startEventHubsDouble({ hubs: [hub], partitions: 1, jwtPublicKeyPath: authority.publicKeyPath });
    const port = Number(new URL(double.connectionString().split(';')[0]!.replace('Endpoint=sb', 'http')).port);
    const connection = rhea.create_container().connect({ host: '127.0.0.1', port, reconnect: false } as never);
    const putJwt = async (token: string): Promise<Record<string, unknown>> =>
      rawRequest(connection, '$cbs', { application_properties: { operation: 'put-token', type: 'jwt', name: `sb://127.0.0.1:${port}/${hub}` }, body: token });
    try {
      assert.equal((await putJwt(authority.mint(EVENTHUBS_AUDIENCE, 'valid')))['status-code'], 202);
      const expired = await putJwt(authority.mint(EVENTHUBS_AUDIENCE, 'expired'));
      assert.equal(expired['status-code'], 401);
      assert.match(String(expired['status-description']), /^ExpiredToken: The token is expired/);
      const wrongAudience = await putJwt(authority.mint(EVENTHUBS_AUDIENCE, 'wrong-audience'));
      assert.equal(wrongAudience['status-code'], 401);
      assert.match(String(wrongAudience['status-description']), /^InvalidAudience/);
      // Same claims, signed by someone else: refused because the double holds the authority's public key.
      const other = await startTokenAuthority(certs);
      try {
        const forged = await putJwt(other.mint(EVENTHUBS_AUDIENCE, 'valid'));
        assert.equal(forged['status-code'], 401);
        assert.match(String(forged['status-description']), /^InvalidSignature/);
      } finally {
        await other.stop();
      }
    } finally {
      connection.close();
      await double.stop();
      await authority.stop();
      certs.remove();
    }
  });
});
