/**
 * The operator commands against a real Kafka: `status`, `deadletter list` / `replay` (a record
 * dead-lettered by a sink rejection is listed, then replayed once the destination is fixed and
 * delivered; a second replay publishes nothing), `destinations test` (OK for a folder, clear
 * words for blob storage on a closed port) and `destinations list` with state, lag and last
 * delivery. A forwarder runs in this process with memory destinations (their stores are
 * in-process); everything else is the real binary. Topic names are private (INSIGHT_LOGS_*_TOPIC).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDestination } from '../src/config/destinations.js';
import { topicNamesFromEnv, type TopicNames } from '../src/config/topic-names.js';
import { DestinationStore } from '../src/destinations/store.js';
import { Forwarder } from '../src/forwarder/forwarder.js';
import { createKafka, kafkaSettingsFromEnv } from '../src/kafka/client.js';
import { ensureTopics } from '../src/kafka/topics.js';
import { dropMemoryStore, memoryStore } from '../src/sinks/memory/store.js';
import { REPLAYED_FROM_HEADER } from '../src/ops/deadletter.js';
import { runCli } from './helpers/cli.js';
import { deleteTopics, publishEvents, readAll, uniqueName } from '../testkit/kafka.js';
import { apiEventWithId, idOf } from './helpers/records.js';
import { freePort, getServices } from '../testkit/services.js';

let brokers: string[];
let env: NodeJS.ProcessEnv;
let names: TopicNames;
let tmp: string;
let store: DestinationStore;
const forwarders: Forwarder[] = [];
const memoryStores: string[] = [];

const cli = async (...args: string[]) => runCli(args, { env, timeoutMs: 90_000 });

before(async () => {
  const services = await getServices();
  brokers = services.kafkaBrokers;
  const prefix = uniqueName('ops-cli');
  env = {
    KAFKA_BROKERS: brokers.join(','),
    INSIGHT_LOGS_AUDIT_TOPIC: `${prefix}-audit`,
    INSIGHT_LOGS_OPERATIONAL_TOPIC: `${prefix}-operational`,
    INSIGHT_LOGS_DEADLETTER_TOPIC: `${prefix}-deadletter`,
    INSIGHT_LOGS_DESTINATIONS_TOPIC: `${prefix}-destinations`,
    AZURE_STORAGE_CONNECTION_STRING: services.storageConnectionString,
  };
  names = topicNamesFromEnv(env);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ops-cli-'));
  const settings = kafkaSettingsFromEnv(env);
  await ensureTopics(settings, { names });
  store = new DestinationStore({ kafka: createKafka(settings), topic: names.destinations });
});

after(async () => {
  for (const f of forwarders) await f.stop().catch(() => undefined);
  await store?.close().catch(() => undefined);
  for (const s of memoryStores) dropMemoryStore(s);
  await deleteTopics(brokers, [names.audit, names.operational, names.deadLetter, names.destinations]);
  rmSync(tmp, { recursive: true, force: true });
});

function startForwarder(): Forwarder {
  const f = new Forwarder({
    kafka: kafkaSettingsFromEnv(env), env, metricsPort: 0, lagIntervalMs: 500,
    topics: { audit: names.audit, operational: names.operational }, deadLetterTopic: names.deadLetter, destinationsTopic: names.destinations,
    retry: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  forwarders.push(f);
  return f;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('destinations test: OK for a folder, clear words for blob storage on a closed port, exit 2 for an unknown name', { timeout: 60_000 }, async () => {
  const closedPort = await freePort();
  env.CLOSED_BLOB_CONNECTION = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${'A'.repeat(86)}==;BlobEndpoint=http://127.0.0.1:${closedPort}/devstoreaccount1;`;
  await store.apply([
    parseDestination({ name: 'probe-dir', type: 'dir', path: path.join(tmp, 'probe') }, 'probe-dir'),
    parseDestination({ name: 'probe-blob', type: 'blob', connectionStringEnv: 'CLOSED_BLOB_CONNECTION' }, 'probe-blob'),
    parseDestination({ name: 'probe-nosecret', type: 'blob', connectionStringEnv: 'NOT_SET_ANYWHERE' }, 'probe-nosecret'),
  ]);
  const dir = await cli('destinations', 'test', 'probe-dir');
  assert.equal(dir.code, 0, dir.stderr);
  assert.match(dir.stdout, /^destination "probe-dir" \(dir\): OK/);

  const blob = await cli('destinations', 'test', 'probe-blob', '--timeout', '10s');
  assert.equal(blob.code, 1, blob.stdout + blob.stderr);
  assert.match(blob.stdout, new RegExp(`destination "probe-blob" \\(blob\\): NOT OK: cannot use http://127\\.0\\.0\\.1:${closedPort}/devstoreaccount1 \\(.+\\)`));
  assert.ok(!blob.stdout.includes('AAAA') && !blob.stderr.includes('AAAA'), 'the account key is never printed');

  const nosecret = await cli('destinations', 'test', 'probe-nosecret');
  assert.equal(nosecret.code, 1);
  assert.match(nosecret.stdout, /NOT OK: cannot be created: .*NOT_SET_ANYWHERE/);

  const unknown = await cli('destinations', 'test', 'nope');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no destination named "nope" \(known: probe-blob, probe-dir, probe-nosecret\)/);
  await store.remove('probe-dir');
  await store.remove('probe-blob');
  await store.remove('probe-nosecret');
});

test('status, dead-letter list and replay after a fix, destinations list with state, lag and last delivery', { timeout: 150_000 }, async () => {
  // A fresh name: the group insight-logs-forwarder.<name> outlives this test's topics.
  const picky = uniqueName('picky');
  const memStore = uniqueName('ops-mem');
  memoryStores.push(memStore);
  const received = memoryStore(memStore);
  const run = uniqueName('dl');
  const events = Array.from({ length: 6 }, (_, i) => apiEventWithId(`${run}-${i}`, { audit: i % 2 === 0 }));
  const audit = events.filter((e) => e.category === 'Audit');
  const operational = events.filter((e) => e.category === 'Operational');

  // A destination that rejects every record as too large: all six are dead-lettered. A second,
  // healthy destination takes them at once and must not get the replays meant for the first.
  const calm = uniqueName('calm');
  const calmStore = uniqueName('ops-calm');
  memoryStores.push(calmStore);
  const calmReceived = memoryStore(calmStore);
  await store.apply([
    parseDestination({ name: picky, type: 'memory', store: memStore, maxRecordBytes: '50' }, picky),
    parseDestination({ name: calm, type: 'memory', store: calmStore, categories: ['audit'] }, calm),
  ]);
  const before = await cli('destinations', 'list');
  assert.equal(before.code, 0, before.stderr);
  assert.match(before.stdout, new RegExp(`^${picky}\\s+memory\\s+audit,operational\\s+not started\\s+0\\s+unknown\\s+`, 'm'));

  await publishEvents(brokers, names.audit, audit);
  await publishEvents(brokers, names.operational, operational);
  const lagged = await cli('destinations', 'list');
  assert.match(lagged.stdout, new RegExp(`^${picky}\\s+memory\\s+audit,operational\\s+not started\\s+6\\s+unknown\\s+`, 'm'), 'nothing delivered yet: all six are lag');

  const forwarder = startForwarder();
  await forwarder.start();
  await until('six dead letters', () => (forwarder.pipelineStats(picky)?.deadLettered ?? 0) >= 6);
  assert.equal(received.records.length, 0);

  const status = await cli('status', '--output', 'json');
  assert.equal(status.code, 0, status.stderr);
  const report = JSON.parse(status.stdout) as { topics: { name: string; endTotal: string; partitions: unknown[] }[]; groups: { destination: string; lag: string; description: string }[]; deadLettered: string };
  assert.equal(report.topics.find((t) => t.name === names.audit)?.endTotal, String(audit.length));
  assert.equal(report.topics.find((t) => t.name === names.operational)?.endTotal, String(operational.length));
  assert.equal(report.topics.find((t) => t.name === names.audit)?.partitions.length, 3);
  assert.equal(report.deadLettered, '6');
  const group = report.groups.find((g) => g.destination === picky);
  assert.ok(group, status.stdout);
  assert.equal(group.lag, '0', 'dead-lettered records are committed');
  assert.match(group.description, /running \(1 forwarder\)/);
  const table = await cli('status');
  assert.match(table.stdout, new RegExp(`^${names.deadLetter}\\s+3\\s+6\\s+6\\s`, 'm'));
  assert.match(table.stdout, new RegExp(`^insight-logs-forwarder\\.${picky}\\s+${picky}\\s+running \\(1 forwarder\\)\\s+0$`, 'm'));
  assert.match(table.stdout, /dead-lettered: 6 record\(s\) retained/);

  // deadletter list: reason, code, origin, destination, decoded summary.
  const listed = await cli('deadletter', 'list', '--output', 'json');
  assert.equal(listed.code, 0, listed.stderr);
  const dl = JSON.parse(listed.stdout) as { total: string; records: { code: string; reason: string; destination: string; source: { topic: string; partition: number; offset: string }; summary: string; size: number; replayed: boolean }[] };
  assert.equal(dl.total, '6');
  assert.equal(dl.records.length, 6);
  for (const r of dl.records) {
    assert.equal(r.code, 'RECORD_TOO_LARGE');
    assert.equal(r.destination, picky);
    assert.match(r.reason, /limit is 50/);
    assert.ok([names.audit, names.operational].includes(r.source.topic));
    assert.match(r.summary, /^APIEvent \S+ Success /);
    assert.ok(r.size > 50);
    assert.equal(r.replayed, false);
  }
  const pretty = await cli('deadletter', 'list', '--max', '2');
  assert.match(pretty.stdout, new RegExp(`^${names.deadLetter}: 6 record\\(s\\) retained; the 2 most recent:`, 'm'));
  assert.equal((pretty.stdout.match(/^\s+reason: record is \d+ bytes, the limit is 50$/gm) ?? []).length, 2);

  // Bad flags are refused before anything happens.
  const badCode = await cli('deadletter', 'replay', '--reason-code', 'NOPE');
  assert.equal(badCode.code, 2);
  assert.match(badCode.stderr, /--reason-code: "NOPE" is not an error code/);

  // The fix: the destination takes any size now. A dry run publishes nothing.
  await store.apply([parseDestination({ name: picky, type: 'memory', store: memStore }, picky)]);
  const dry = await cli('deadletter', 'replay', '--dry-run');
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /dry run: 6 record\(s\) would replay/);
  const none = await cli('deadletter', 'replay', '--reason-code', 'DECODE_FAILED');
  assert.match(none.stdout, /0 record\(s\) replayed; 0 replayed before, 6 not selected/);
  const endsBefore = (await readAll(brokers, names.audit)).length + (await readAll(brokers, names.operational)).length;
  assert.equal(endsBefore, 6, 'a dry run and an empty selection publish nothing');

  const replay = await cli('deadletter', 'replay', '--destination', picky);
  assert.equal(replay.code, 0, replay.stderr);
  assert.match(replay.stdout, new RegExp(`6 record\\(s\\) replayed \\(.*${audit.length} to ${names.audit}.*\\)`));
  await received.waitFor(6, 60_000);
  assert.deepEqual(received.records.map((r) => idOf(r.event)).sort(), events.map(idOf).sort(), 'the fixed destination got every replayed record');
  await until('the healthy destination read the replays too', () => (forwarder.pipelineStats(calm)?.recordsIn ?? 0) >= 2 * audit.length);
  assert.deepEqual(calmReceived.records.map((r) => idOf(r.event)).sort(), audit.map(idOf).sort(), 'a replay meant for another destination is skipped, not delivered twice');
  const replayed = (await readAll(brokers, names.audit)).filter((m) => m.headers[REPLAYED_FROM_HEADER] !== undefined);
  assert.equal(replayed.length, audit.length);
  for (const m of replayed) assert.match(String(m.headers[REPLAYED_FROM_HEADER]), new RegExp(`^${names.deadLetter}/\\d+/\\d+$`));

  const again = await cli('deadletter', 'replay');
  assert.match(again.stdout, /0 record\(s\) replayed; 6 replayed before/);
  const marked = JSON.parse((await cli('deadletter', 'list', '--output', 'json')).stdout) as { records: { replayed: boolean }[] };
  assert.ok(marked.records.every((r) => r.replayed));

  // destinations list: running, lag 0 once committed, last delivery from /metrics.
  const metricsUrl = `http://127.0.0.1:${forwarder.metricsPort}/metrics`;
  let listOut = '';
  await until('lag 0 and a last delivery', async () => {
    listOut = (await cli('destinations', 'list', '--metrics-url', metricsUrl)).stdout;
    return new RegExp(`^${picky}\\s+memory\\s+audit,operational\\s+running \\(1 forwarder\\)\\s+0\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z \\(\\d+ s ago\\)\\s+store=`, 'm').test(listOut);
  });
  const noForwarder = await cli('destinations', 'list', '--metrics-url', 'http://127.0.0.1:1/metrics');
  assert.match(noForwarder.stderr, /--metrics-url: no forwarder answers at http:\/\/127\.0\.0\.1:1\/metrics/);
  assert.match(noForwarder.stdout, new RegExp(`^${picky}\\s+.*\\s+no metrics\\s+store=`, 'm'));
  await forwarder.stop();
  const stopped = await cli('destinations', 'list');
  assert.match(stopped.stdout, new RegExp(`^${picky}\\s+memory\\s+audit,operational\\s+stopped \\(no forwarder running\\)\\s+0\\s+unknown\\s+`, 'm'));
});
