/**
 * End to end: events published with the EventProducer go through the Forwarder to blob
 * (a private Azurite) and dir destinations, at the exact Azure Monitor paths and line format;
 * a destination limited to one category gets only that category; garbage bytes and a
 * path-injection resourceId go to the dead-letter topic while good records keep flowing;
 * storage stopped for 30 s mid-run and restarted on the same port loses nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { defaultSchemaRegistry } from '../src/codec/schema-registry.js';
import { parseDestination } from '../src/config/destinations.js';
import { DestinationStore } from '../src/destinations/store.js';
import type { InsightEvent } from '../src/events/types.js';
import { Forwarder } from '../src/forwarder/forwarder.js';
import { DEADLETTER_HEADERS } from '../src/forwarder/dead-letter.js';
import { toSinkRecord } from '../src/forwarder/sink-record.js';
import { createKafka, kafkaSettingsFromEnv } from '../src/kafka/client.js';
import { EventProducer } from '../src/producer/event-producer.js';
import { blobNameFor } from '../src/sinks/layout/path.js';
import { startAzurite, type AzuriteInstance } from './helpers/azurite.js';
import { createTopics, deleteTopics, kafkaClient, readAll, uniqueName } from '../testkit/kafka.js';
import { apiEventWithId, idOf, workflowEventWithId } from './helpers/records.js';
import { getServices } from '../testkit/services.js';

const ENV_NAME = 'INSIGHT_LOGS_E2E_STORAGE_CS';
/** How long storage stays down in the outage test (E2E_OUTAGE_MS to change). */
const OUTAGE_MS = Number(process.env.E2E_OUTAGE_MS || 30_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Containers { audit: string; operational: string }

describe('Kafka → Forwarder → blob (Azurite) and dir', { timeout: 300_000 }, () => {
  let azurite: AzuriteInstance;
  let blobs: BlobServiceClient;
  let brokers: string[];
  let forwarder: Forwarder;
  let store: DestinationStore;
  let producer: EventProducer;
  let outDir: string;
  const id = uniqueName('e2e-blob');
  const topics = { audit: `${id}-audit`, operational: `${id}-operational` };
  const deadLetterTopic = `${id}-deadletter`;
  const destinationsTopic = `${id}-destinations`;
  const all: Containers = { audit: uniqueName('e2e-audit'), operational: uniqueName('e2e-oper') };
  const auditOnly: Containers = { audit: uniqueName('e2e-aonly-audit'), operational: uniqueName('e2e-aonly-oper') };
  const names = { blob: uniqueName('blob').toLowerCase(), dir: uniqueName('dir').toLowerCase(), auditOnly: uniqueName('audit-only').toLowerCase() };

  async function blobLines(container: string): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    const c = blobs.getContainerClient(container);
    if (!(await c.exists())) return out;
    for await (const b of c.listBlobsFlat()) {
      // Azurite can serve a download that races an append with the new block cut short (seen:
      // 3 of 39 reads while three writers appended whole-line blocks; every later read was
      // whole). Read again briefly before calling a blob torn: a torn blob stays torn.
      let text = '';
      for (let attempt = 0; attempt < 10; attempt++) {
        text = (await c.getBlobClient(b.name).downloadToBuffer()).toString('utf8');
        if (text.endsWith('\n')) break;
        await sleep(200);
      }
      assert.ok(text.endsWith('\n'), `${b.name} does not end with a newline`);
      out.set(b.name, text.split('\n').filter(Boolean));
    }
    return out;
  }

  async function blobIds(container: string): Promise<string[]> {
    return [...(await blobLines(container)).values()].flat().map((l) => idOf(JSON.parse(l))!);
  }

  async function dirLines(container: string): Promise<Map<string, string[]>> {
    const root = path.join(outDir, container);
    const out = new Map<string, string[]>();
    let entries;
    try {
      entries = await readdir(root, { recursive: true, withFileTypes: true });
    } catch {
      return out;
    }
    for (const e of entries.filter((x) => x.isFile())) {
      const file = path.join(e.parentPath, e.name);
      out.set(path.relative(root, file).split(path.sep).join('/'), (await readFile(file, 'utf8')).split('\n').filter(Boolean));
    }
    return out;
  }

  /** Waits until every id is in the container (or the deadline passes); returns the ids found. */
  async function waitForIds(container: string, expected: string[], timeoutMs: number): Promise<Set<string>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = new Set(await blobIds(container));
      if (expected.every((i) => got.has(i)) || Date.now() > deadline) return got;
      await sleep(500);
    }
  }

  before(async () => {
    const services = await getServices();
    brokers = services.kafkaBrokers;
    azurite = await startAzurite();
    blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
    outDir = await mkdtemp(path.join(os.tmpdir(), 'e2e-blob-dir-'));
    await createTopics(brokers, [topics.audit, topics.operational], 3);
    const kafka = kafkaSettingsFromEnv({ KAFKA_BROKERS: brokers.join(',') });
    store = new DestinationStore({ kafka: createKafka(kafka), topic: destinationsTopic });
    await store.apply([
      parseDestination({ name: names.blob, type: 'blob', connectionStringEnv: ENV_NAME, containers: all }, 'd[0]'),
      parseDestination({ name: names.dir, type: 'dir', path: outDir }, 'd[1]'),
      parseDestination({ name: names.auditOnly, type: 'blob', categories: ['audit'], connectionStringEnv: ENV_NAME, containers: auditOnly }, 'd[2]'),
    ]);
    forwarder = new Forwarder({
      kafka, topics, destinationsTopic, deadLetterTopic,
      env: { [ENV_NAME]: azurite.connectionString },
      retry: { initialDelayMs: 200, maxDelayMs: 2000 },
      lagIntervalMs: 2000,
    });
    await forwarder.start();
    await forwarder.waitUntilReady(60_000);
    producer = new EventProducer({ kafka, topics });
    await producer.connect();
  });

  after(async () => {
    await producer?.close();
    await forwarder?.stop();
    await store?.close();
    await azurite?.dispose();
    if (outDir) await rm(outDir, { recursive: true, force: true });
    if (brokers) await deleteTopics(brokers, [topics.audit, topics.operational, deadLetterTopic, destinationsTopic]);
  });

  test('both containers get the exact paths and lines; dir gets the same; the audit-only destination gets audit only', async () => {
    const times = ['2024-05-01T13:45:12.1234567Z', '2024-05-01T14:00:00Z', '2024-12-31T23:59:59.9999999+00:00'];
    const events: InsightEvent[] = [];
    for (let i = 0; i < 300; i++) {
      const time = times[i % times.length]!;
      const instance = `E2E-INST-${i % 3}`;
      events.push(i % 3 === 0 ? apiEventWithId(randomUUID(), { audit: true, instance, time }) : i % 3 === 1 ? apiEventWithId(randomUUID(), { instance, time }) : workflowEventWithId(randomUUID(), { instance, time }));
    }
    await Promise.all(events.map((e) => producer.publish(e)));
    const expected = events.map((e) => toSinkRecord(e, { topic: '', partition: 0, offset: '0' }));
    const audit = expected.filter((r) => r.event.category === 'Audit');
    const operational = expected.filter((r) => r.event.category === 'Operational');
    assert.ok(audit.length > 0 && operational.length > 0);
    await waitForIds(all.audit, audit.map((r) => idOf(r.event)!), 60_000);
    await waitForIds(all.operational, operational.map((r) => idOf(r.event)!), 60_000);
    await waitForIds(auditOnly.audit, audit.map((r) => idOf(r.event)!), 60_000);

    for (const [category, records] of [['audit', audit], ['operational', operational]] as const) {
      // Expected file → lines, computed from the published events with the layout rule.
      const want = new Map<string, Record<string, unknown>[]>();
      for (const r of records) {
        const name = blobNameFor(r.event);
        want.set(name, [...(want.get(name) ?? []), JSON.parse(r.json)]);
      }
      const got = await blobLines(all[category]);
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${category}: blob names`);
      for (const [name, lines] of got) {
        const byId = new Map(want.get(name)!.map((o) => [idOf(o), o]));
        assert.equal(lines.length, byId.size, `${name}: line count`);
        for (const line of lines) {
          const parsed = JSON.parse(line);
          assert.deepEqual(parsed, byId.get(idOf(parsed)), `${name}: a line differs from the published event`);
        }
      }
      // The dir destination: the same files with the same lines (order within a file may differ across partitions).
      const dir = await waitForDir(`insight-logs-${category}`, records.length);
      assert.deepEqual([...dir.keys()].sort(), [...got.keys()].sort(), `${category}: dir files`);
      for (const [name, lines] of got) assert.deepEqual([...dir.get(name)!].sort(), [...lines].sort(), `${name}: dir lines`);
    }
    const onlyAudit = new Set(await blobIds(auditOnly.audit));
    assert.equal(onlyAudit.size, audit.length);
    assert.equal(await blobs.getContainerClient(auditOnly.operational).exists(), false, 'the audit-only destination created an operational container');
  });

  async function waitForDir(container: string, lines: number): Promise<Map<string, string[]>> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const got = await dirLines(container);
      if ([...got.values()].reduce((n, l) => n + l.length, 0) >= lines || Date.now() > deadline) return got;
      await sleep(300);
    }
  }

  test('garbage bytes and a path-injection resourceId are dead-lettered; good records keep flowing', async () => {
    const raw = kafkaClient(brokers).producer();
    await raw.connect();
    const hostile = apiEventWithId(randomUUID(), { audit: true });
    (hostile as { resourceId: string }).resourceId = '/SUBSCRIPTIONS/X/../../../../ESCAPE';
    const before = Array.from({ length: 20 }, () => apiEventWithId(randomUUID(), { audit: true }));
    const afterIds = Array.from({ length: 20 }, () => apiEventWithId(randomUUID(), { audit: true }));
    try {
      await Promise.all(before.map((e) => producer.publish(e)));
      await raw.send({
        topic: topics.audit,
        acks: -1,
        messages: [
          { key: 'garbage', value: Buffer.from('this is not avro at all') },
          // Hand-encoded: the schema registry only checks the Avro shape, so this bypasses the producer's validation.
          { key: 'injection', value: defaultSchemaRegistry().encode('APIEvent', hostile) },
        ],
      });
      await Promise.all(afterIds.map((e) => producer.publish(e)));
    } finally {
      await raw.disconnect();
    }
    const good = [...before, ...afterIds].map((e) => idOf(e)!);
    const got = await waitForIds(all.audit, good, 60_000);
    assert.equal(good.filter((i) => !got.has(i)).length, 0, 'good records missing');
    // Three destinations consume audit: each dead-letters both bad messages.
    const letters = await readAll(brokers, deadLetterTopic, { minMessages: 6, timeoutMs: 60_000 });
    const header = (m: (typeof letters)[number], h: string) => m.headers[h]?.toString();
    const garbage = letters.filter((m) => m.key?.toString() === 'garbage');
    const injection = letters.filter((m) => m.key?.toString() === 'injection');
    assert.deepEqual(new Set(garbage.map((m) => header(m, DEADLETTER_HEADERS.destination))), new Set(Object.values(names)));
    assert.deepEqual(new Set(injection.map((m) => header(m, DEADLETTER_HEADERS.destination))), new Set(Object.values(names)));
    for (const m of garbage) assert.equal(header(m, DEADLETTER_HEADERS.code), 'DECODE_FAILED');
    for (const m of injection) {
      assert.ok(['EVENT_INVALID', 'PATH_UNSAFE'].includes(header(m, DEADLETTER_HEADERS.code)!), header(m, DEADLETTER_HEADERS.code));
      assert.match(header(m, DEADLETTER_HEADERS.reason)!, /resourceId/);
    }
    // Nothing of it was written anywhere: every blob name in every container is under a good prefix.
    for (const c of [all.audit, all.operational, auditOnly.audit]) {
      for (const name of (await blobLines(c)).keys()) assert.match(name, /^resourceId=\/SUBSCRIPTIONS\/[0-9A-F-]+\/RESOURCEGROUPS\/RG-INSIGHTS\/PROVIDERS\/MICROSOFT\.D365CUSTOMERINSIGHTS\/INSTANCES\/[A-Z0-9-]+\/y=/);
    }
    assert.ok(!(await readdir(path.dirname(outDir))).includes('ESCAPE'));
  });

  test(`storage stopped for ${OUTAGE_MS / 1000} s mid-run and restarted on the same port: nothing lost`, async () => {
    const published: string[] = [];
    const publishWave = async (n: number) => {
      const wave = Array.from({ length: n }, (_, i) => (i % 2 ? apiEventWithId(randomUUID(), { audit: true, instance: `OUT-${i % 5}` }) : workflowEventWithId(randomUUID(), { instance: `OUT-${i % 5}` })));
      await Promise.all(wave.map((e) => producer.publish(e)));
      published.push(...wave.map((e) => idOf(e)!));
    };
    await publishWave(500);
    await sleep(200);
    const port = azurite.port;
    await azurite.stop();
    const downAt = Date.now();
    // Keep publishing while storage is down.
    while (Date.now() - downAt < OUTAGE_MS) {
      await publishWave(200);
      await sleep(2_000);
    }
    await azurite.start();
    assert.equal(azurite.port, port);
    await publishWave(500);
    const deadline = Date.now() + 90_000;
    let got = new Set<string>();
    while (Date.now() < deadline) {
      got = new Set([...(await blobIds(all.audit)), ...(await blobIds(all.operational))]);
      if (published.every((i) => got.has(i))) break;
      await sleep(1000);
    }
    const missing = published.filter((i) => !got.has(i)).length;
    const stats = forwarder.pipelineStats(names.blob);
    console.log(`outage: published ${published.length}, distinct in blobs ${published.filter((i) => got.has(i)).length}, missing ${missing}, retries ${stats?.retries}`);
    assert.equal(missing, 0, `${missing} records lost across the storage outage`);
    assert.ok((stats?.retries ?? 0) > 0, 'the forwarder never retried: the outage did not bite');
  });
});
