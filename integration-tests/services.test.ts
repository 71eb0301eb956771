import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { BlobServiceClient, StorageRetryPolicyType } from '@azure/storage-blob';
import { startAzurite } from './helpers/azurite.js';
import { createTopics, deleteTopics, kafkaClient, readAll, uniqueName } from '../testkit/kafka.js';
import { getServices } from '../testkit/services.js';

after(async () => {
  const services = await getServices();
  await services.stop();
});

test('Kafka: create a topic, produce and consume a message round trip', { timeout: 120_000 }, async () => {
  const { kafkaBrokers } = await getServices();
  const topic = uniqueName('it-services');
  await createTopics(kafkaBrokers, [topic], 3);
  try {
    const producer = kafkaClient(kafkaBrokers).producer();
    await producer.connect();
    try {
      await producer.send({
        topic,
        messages: [{ key: 'k1', value: 'hello kafka', headers: { kind: 'test' } }],
      });
    } finally {
      await producer.disconnect();
    }
    const got = await readAll(kafkaBrokers, topic, { timeoutMs: 60_000, minMessages: 1 });
    assert.equal(got.length, 1);
    assert.equal(got[0]!.key?.toString(), 'k1');
    assert.equal(got[0]!.value?.toString(), 'hello kafka');
    assert.equal(got[0]!.headers.kind?.toString(), 'test');
  } finally {
    await deleteTopics(kafkaBrokers, [topic]);
  }
});

test('Azurite: create a container, write a blob and read it back', { timeout: 60_000 }, async () => {
  const { storageConnectionString } = await getServices();
  const service = BlobServiceClient.fromConnectionString(storageConnectionString);
  const container = service.getContainerClient(uniqueName('it-services'));
  await container.create();
  try {
    const blob = container.getBlockBlobClient('dir/hello.txt');
    await blob.upload('hello azurite', 13);
    const body = await blob.downloadToBuffer();
    assert.equal(body.toString(), 'hello azurite');
  } finally {
    await container.delete();
  }
});

test('startAzurite: data survives a stop and a restart on the same port', { timeout: 120_000 }, async () => {
  const azurite = await startAzurite();
  try {
    const clientOptions = { retryOptions: { maxTries: 1, retryPolicyType: StorageRetryPolicyType.FIXED, tryTimeoutInMs: 5_000 } };
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString, clientOptions);
    const container = service.getContainerClient('outage');
    await container.create();
    const blob = container.getAppendBlobClient('log.jsonl');
    await blob.create();
    await blob.appendBlock('{"a":1}\n', 8);

    await azurite.stop();
    assert.equal(azurite.running, false);
    await assert.rejects(blob.appendBlock('{"a":2}\n', 8));

    await azurite.restart();
    const port = new URL(service.url).port;
    assert.equal(port, String(azurite.port));
    assert.equal((await blob.downloadToBuffer()).toString(), '{"a":1}\n');
    await blob.appendBlock('{"a":3}\n', 8);
    assert.equal((await blob.downloadToBuffer()).toString(), '{"a":1}\n{"a":3}\n');
  } finally {
    await azurite.dispose();
  }
});
