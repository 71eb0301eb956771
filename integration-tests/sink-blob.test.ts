/**
 * The blob sink against a private Azurite (real HTTP, real append-blob semantics): the
 * shared sink contract, then what is particular to blob — exact names and line format,
 * blocks never above 4 MiB, continuation blobs, lost replies not written twice, hostile
 * resourceIds rejected without writing anything outside their prefix.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BlobServiceClient } from '@azure/storage-blob';
import { silentLogger } from '../src/logging.js';
import type { Sink, SinkRecord } from '../src/sinks/sink.js';
import { toSinkRecord } from '../src/forwarder/sink-record.js';
import { blobSinkType, BlobSink } from '../src/sinks/blob/sink.js';
import { parseBlobSettings } from '../src/sinks/blob/config.js';
import { packBlocks } from '../src/sinks/blob/request-builder.js';
import { createBlobService, type BlobService } from '../src/sinks/blob/service.js';
import { startAzurite, type AzuriteInstance } from './helpers/azurite.js';
import { uniqueName } from '../testkit/kafka.js';
import { apiEventWithId, idOf, makeSinkRecords, resourceIdFor, workflowEventWithId } from './helpers/records.js';
import { sinkContract } from './helpers/sink-contract.js';
import { randomUUID } from 'node:crypto';

const ENV_NAME = 'INSIGHT_LOGS_TEST_STORAGE_CS';
const MiB = 1024 * 1024;

let azurite: AzuriteInstance;
let client: BlobServiceClient;
const containersMade: string[] = [];

before(async () => {
  azurite = await startAzurite();
  client = BlobServiceClient.fromConnectionString(azurite.connectionString);
});
after(async () => {
  await azurite?.dispose();
});

interface Containers { audit: string; operational: string }

function freshContainers(): Containers {
  const c = { audit: uniqueName('it-audit'), operational: uniqueName('it-oper') };
  containersMade.push(c.audit, c.operational);
  return c;
}

function createSink(containers: Containers, extra: Record<string, unknown> = {}): Sink {
  const settings = blobSinkType.parseSettings({ connectionStringEnv: ENV_NAME, containers, ...extra }, 'destinations[0]');
  return blobSinkType.create(settings, { name: 'it-blob', categories: ['audit', 'operational'], logger: silentLogger, env: { [ENV_NAME]: azurite.connectionString } });
}

/** A sink whose service is observable (every append's size) and usable directly by the test. */
function createSpiedSink(containers: Containers, extra: Record<string, unknown> = {}) {
  const inner = createBlobService({ kind: 'connectionString', connectionString: azurite.connectionString });
  const appends: { blob: string; bytes: number; committedBlocks: number }[] = [];
  const service: BlobService = {
    ...inner,
    endpoint: inner.endpoint,
    async appendBlock(container, blobName, body, position, signal) {
      const state = await inner.appendBlock(container, blobName, body, position, signal);
      appends.push({ blob: blobName, bytes: body.length, committedBlocks: state.committedBlocks });
      return state;
    },
  };
  const settings = parseBlobSettings({ connectionStringEnv: ENV_NAME, containers, ...extra }, 'destinations[0]');
  return { sink: new BlobSink(settings, { name: 'it-blob', categories: ['audit', 'operational'], logger: silentLogger }, service), service: inner, appends };
}

async function blobNames(container: string): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of client.getContainerClient(container).listBlobsFlat()) names.push(blob.name);
  return names.sort();
}

async function linesOf(container: string, name: string): Promise<string[]> {
  const buffer = await client.getContainerClient(container).getBlobClient(name).downloadToBuffer();
  const text = buffer.toString('utf8');
  assert.ok(text === '' || text.endsWith('\n'), `${name} does not end with a newline`);
  return text.split('\n').filter((l) => l !== '');
}

async function allRecords(container: string): Promise<Record<string, unknown>[]> {
  if (!(await client.getContainerClient(container).exists())) return [];
  const out: Record<string, unknown>[] = [];
  for (const name of await blobNames(container)) for (const line of await linesOf(container, name)) out.push(JSON.parse(line));
  return out;
}

const RID = resourceIdFor('TEST-INSTANCE-1');
const record = (event: ReturnType<typeof apiEventWithId>, offset = 0): SinkRecord => toSinkRecord(event, { topic: 't', partition: 0, offset: String(offset) });

{
  let containers: Containers;
  sinkContract('blob (Azurite)', {
    async create() {
      containers = freshContainers();
      return createSink(containers);
    },
    readBack: (category) => allRecords(containers[category]),
    makeUnavailable: () => azurite.stop(),
    restore: () => azurite.start(),
  });
}

describe('blob sink specifics (Azurite)', () => {
  after(async () => {
    await Promise.all(containersMade.map((c) => client.getContainerClient(c).deleteIfExists().catch(() => undefined)));
  });

  test('exact blob names (UTC hour of time, upper-case resourceId) and JSON Lines of the records', async () => {
    const containers = freshContainers();
    const sink = createSink(containers);
    const lower = RID.replace('/INSTANCES/TEST-INSTANCE-1', '/instances/test-instance-1').replace('/SUBSCRIPTIONS/', '/subscriptions/');
    const a = record(apiEventWithId(randomUUID(), { time: '2024-05-01T13:45:12.1234567Z' }));
    const b = record({ ...apiEventWithId(randomUUID(), { time: '2024-05-01T13:59:59.9999999Z' }), resourceId: lower } as never);
    const c = record(workflowEventWithId(randomUUID(), { time: '2024-12-31T23:00:00+00:00' }));
    const d = record(apiEventWithId(randomUUID(), { audit: true, time: '2025-01-01T00:00:00.5Z' }));
    assert.equal((await sink.send([a, b, c])).status, 'delivered');
    assert.equal((await sink.send([d])).status, 'delivered');
    assert.deepEqual(await blobNames(containers.operational), [
      `resourceId=${RID}/y=2024/m=05/d=01/h=13/m=00/PT1H.json`,
      `resourceId=${RID}/y=2024/m=12/d=31/h=23/m=00/PT1H.json`,
    ]);
    assert.deepEqual(await blobNames(containers.audit), [`resourceId=${RID}/y=2025/m=01/d=01/h=00/m=00/PT1H.json`]);
    assert.deepEqual(await linesOf(containers.operational, `resourceId=${RID}/y=2024/m=05/d=01/h=13/m=00/PT1H.json`), [a.json, b.json]);
    const line = JSON.parse((await linesOf(containers.audit, `resourceId=${RID}/y=2025/m=01/d=01/h=00/m=00/PT1H.json`))[0]!);
    assert.equal(line.category, 'Audit');
    assert.equal(typeof line.properties, 'object');
    assert.ok(!Object.values(line).includes(null), 'optional fields are absent, not null');
    const props = await client.getContainerClient(containers.audit).getBlobClient(`resourceId=${RID}/y=2025/m=01/d=01/h=00/m=00/PT1H.json`).getProperties();
    assert.equal(props.blobType, 'AppendBlob');
    await sink.close();
  });

  test('6 MiB of records go in append blocks of at most 4 MiB, lines never split', async () => {
    const containers = freshContainers();
    const { sink, appends } = createSpiedSink(containers);
    const pad = 'x'.repeat(4000);
    const batch = Array.from({ length: 1600 }, (_, i) => {
      const e = apiEventWithId(randomUUID(), { time: '2024-05-01T10:00:00Z' }) as { uri?: string };
      return record({ ...e, uri: `${e.uri}&pad=${pad}` } as never, i);
    });
    const total = batch.reduce((n, r) => n + Buffer.byteLength(r.json) + 1, 0);
    assert.ok(total > 6 * MiB, `only ${total} bytes`);
    assert.equal((await sink.send(batch)).status, 'delivered');
    assert.ok(appends.length >= 2);
    for (const a of appends) assert.ok(a.bytes <= 4 * MiB, `an append of ${a.bytes} bytes`);
    assert.equal(appends.reduce((n, a) => n + a.bytes, 0), total);
    const name = `resourceId=${RID}/y=2024/m=05/d=01/h=10/m=00/PT1H.json`;
    const props = await client.getContainerClient(containers.operational).getBlobClient(name).getProperties();
    assert.ok((props.blobCommittedBlockCount ?? 0) >= 2, `committed blocks ${props.blobCommittedBlockCount}`);
    assert.equal(props.contentLength, total);
    const ids = (await linesOf(containers.operational, name)).map((l) => idOf(JSON.parse(l)));
    assert.deepEqual(ids, batch.map((r) => idOf(r.event)));
    console.log(`6 MiB test: ${appends.length} appends, sizes ${appends.map((a) => a.bytes).join(', ')}`);
  });

  test('rolls over to PT1H-1.json after maxBlocksPerBlob blocks, also after a restart', async () => {
    const containers = freshContainers();
    const events = Array.from({ length: 7 }, () => record(apiEventWithId(randomUUID(), { time: '2024-06-01T08:30:00Z' })));
    const first = createSink(containers, { maxBlocksPerBlob: 3 });
    for (const r of events.slice(0, 5)) assert.equal((await first.send([r])).status, 'delivered');
    await first.close();
    const second = createSink(containers, { maxBlocksPerBlob: 3 }); // a restarted forwarder starts from PT1H.json again
    for (const r of events.slice(5)) assert.equal((await second.send([r])).status, 'delivered');
    await second.close();
    const base = `resourceId=${RID}/y=2024/m=06/d=01/h=08/m=00`;
    assert.deepEqual(await blobNames(containers.operational), [`${base}/PT1H-1.json`, `${base}/PT1H-2.json`, `${base}/PT1H.json`]);
    assert.equal((await linesOf(containers.operational, `${base}/PT1H.json`)).length, 3);
    assert.equal((await linesOf(containers.operational, `${base}/PT1H-1.json`)).length, 3);
    assert.equal((await linesOf(containers.operational, `${base}/PT1H-2.json`)).length, 1);
    const ids = (await allRecords(containers.operational)).map(idOf);
    assert.deepEqual(new Set(ids), new Set(events.map((r) => idOf(r.event))));
    assert.equal(ids.length, events.length);
  });

  test('a retried append whose first try landed (reply lost) is not written twice', async () => {
    const containers = freshContainers();
    const { sink, service } = createSpiedSink(containers);
    const time = '2024-07-01T05:00:00Z';
    const name = `resourceId=${RID}/y=2024/m=07/d=01/h=05/m=00/PT1H.json`;
    const first = [record(apiEventWithId(randomUUID(), { time }))];
    assert.equal((await sink.send(first)).status, 'delivered');
    const retried = [record(apiEventWithId(randomUUID(), { time })), record(workflowEventWithId(randomUUID(), { time }))];
    // The "first try": the block lands, but the sink never hears of it and still knows the old length.
    const { length } = await service.getAppendBlobState(containers.operational, name);
    await service.appendBlock(containers.operational, name, packBlocks(retried, 4 * MiB).blocks[0]!.body, length);
    assert.equal((await sink.send(retried)).status, 'delivered');
    const ids = (await linesOf(containers.operational, name)).map((l) => idOf(JSON.parse(l)));
    assert.deepEqual(ids, [...first, ...retried].map((r) => idOf(r.event)));
    // Someone else's bytes at our position are not mistaken for ours: the block goes after them.
    const other = [record(apiEventWithId(randomUUID(), { time }))];
    const now = await service.getAppendBlobState(containers.operational, name);
    await service.appendBlock(containers.operational, name, packBlocks(other, 4 * MiB).blocks[0]!.body, now.length);
    const mine = [record(apiEventWithId(randomUUID(), { time }))];
    assert.equal((await sink.send(mine)).status, 'delivered');
    assert.equal((await linesOf(containers.operational, name)).length, 5);
  });

  test('hostile resourceIds are rejected PATH_UNSAFE and nothing lands outside a good prefix', async () => {
    const containers = freshContainers();
    const sink = createSink(containers);
    const hostile = ['/SUBSCRIPTIONS/X/../../../ESCAPE', '/SUBSCRIPTIONS/X/%2e%2e/ESCAPE', '/SUBSCRIPTIONS/X\\..\\ESCAPE', '/SUBSCRIPTIONS/X\u2215..\u2215ESCAPE',
      '/SUBSCRIPTIONS/X\uFF0FESCAPE', '/SUBSCRIPTIONS//ESCAPE', '/SUBSCRIPTIONS/X/', '/SUBSCRIPTIONS/X.', '/SUBSCRIPTIONS/X?comp=appendblock', `/${'A'.repeat(2000)}`];
    const bad = hostile.map((resourceId, i) => record({ ...apiEventWithId(randomUUID()), resourceId } as never, i));
    const good = record(apiEventWithId(randomUUID(), { time: '2024-08-01T01:00:00Z' }), 99);
    const outcome = await sink.send([...bad, good]);
    assert.equal(outcome.status, 'delivered');
    assert.ok(outcome.status === 'delivered');
    assert.equal(outcome.rejected?.length, hostile.length);
    for (const r of outcome.rejected ?? []) {
      assert.equal(r.code, 'PATH_UNSAFE');
      assert.ok(r.reason.length > 0);
    }
    assert.deepEqual(await blobNames(containers.operational), [`resourceId=${RID}/y=2024/m=08/d=01/h=01/m=00/PT1H.json`]);
    assert.equal(await client.getContainerClient(containers.audit).exists(), false);
    await sink.close();
  });

  test('while storage is down: retryable, and the healthcheck says so in words without secrets', async () => {
    const sink = createSink(freshContainers());
    await azurite.stop();
    try {
      const outcome = await sink.send(makeSinkRecords(3, { audit: true }));
      assert.equal(outcome.status, 'retryable');
      const health = await sink.healthcheck();
      assert.equal(health.ok, false);
      const problem = health.ok ? '' : health.problem;
      assert.match(problem, new RegExp(`cannot use http://127\\.0\\.0\\.1:${azurite.port}/devstoreaccount1 \\(connection refused\\)`));
      const text = `${problem} ${outcome.status === 'retryable' ? outcome.error.message : ''}`;
      assert.ok(!text.includes('Eby8vdM02'), 'the account key leaked');
    } finally {
      await azurite.start();
    }
    await sink.close();
  });

  test('a connection string env var that is missing is SECRET_MISSING, naming the variable only', () => {
    const settings = blobSinkType.parseSettings({ connectionStringEnv: 'NOPE_NOT_SET_X' }, 'destinations[0]');
    assert.throws(
      () => blobSinkType.create(settings, { name: 'x', categories: ['audit'], logger: silentLogger, env: {} }),
      (e: Error & { code?: string }) => e.code === 'SECRET_MISSING' && e.message.includes('NOPE_NOT_SET_X'),
    );
  });
});
