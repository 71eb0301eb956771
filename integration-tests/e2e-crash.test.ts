/**
 * Crash test: `insight-logs forward` runs as a child process with a dir destination and a
 * blob destination (Azurite, containers unique to the run) while E2E_EVENTS events (default
 * 100,000) are published; it is killed with SIGKILL mid-run and started again. Once both
 * destinations' consumer groups have committed everything, every published id must be in the
 * files and in the blobs (missing = 0); duplicates (at-least-once) are counted and printed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import type { Admin } from 'kafkajs';
import { defaultSchemaRegistry } from '../src/codec/schema-registry.js';
import { parseDestination } from '../src/config/destinations.js';
import { DestinationStore } from '../src/destinations/store.js';
import { kindOf } from '../src/events/types.js';
import { groupIdFor } from '../src/forwarder/pipeline.js';
import { createKafka, kafkaSettingsFromEnv } from '../src/kafka/client.js';
import { createTopics, deleteTopics, kafkaClient, uniqueName } from '../testkit/kafka.js';
import { apiEventWithId, idOf, workflowEventWithId } from './helpers/records.js';
import { getServices, repoRoot } from '../testkit/services.js';

const EVENTS = Number(process.env.E2E_EVENTS || 100_000);
/** The forwarder reads the storage connection string from this variable (never from the destination). */
const STORAGE_ENV = 'INSIGHT_LOGS_CRASH_STORAGE_CS';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What one destination holds: lines per id, and lines that are not a record (torn writes). */
interface Tally { counts: Map<string, number>; lines: number; unparseable: number }

function tallyLines(tally: Tally, text: string): void {
  for (const line of text.split('\n')) {
    if (line === '') continue;
    tally.lines++;
    try {
      const uid = idOf(JSON.parse(line))!;
      tally.counts.set(uid, (tally.counts.get(uid) ?? 0) + 1);
    } catch {
      tally.unparseable++;
    }
  }
}

describe(`kill -9 mid-run: ${EVENTS} events through \`insight-logs forward\` to a dir and a blob destination`, { timeout: 600_000 }, () => {
  let brokers: string[];
  let admin: Admin;
  let outDir: string;
  let storageConnectionString: string;
  let blobs: BlobServiceClient;
  let output = '';
  const children = new Set<ChildProcess>();
  const id = uniqueName('e2e-crash');
  const source = { audit: `${id}-audit`, operational: `${id}-operational` };
  const deadLetterTopic = `${id}-deadletter`;
  const destinationsTopic = `${id}-destinations`;
  const destination = uniqueName('crash-dir').toLowerCase();
  const blobDestination = uniqueName('crash-blob').toLowerCase();
  const groupIds = [groupIdFor(destination), groupIdFor(blobDestination)];
  const containers = { audit: uniqueName('crash-audit').toLowerCase(), operational: uniqueName('crash-oper').toLowerCase() };

  before(async () => {
    const services = await getServices();
    brokers = services.kafkaBrokers;
    storageConnectionString = services.storageConnectionString;
    blobs = BlobServiceClient.fromConnectionString(storageConnectionString);
    outDir = await mkdtemp(path.join(os.tmpdir(), 'e2e-crash-'));
    await createTopics(brokers, [source.audit, source.operational], 3);
    const store = new DestinationStore({ kafka: createKafka(kafkaSettingsFromEnv({ KAFKA_BROKERS: brokers.join(',') })), topic: destinationsTopic });
    await store.apply([
      parseDestination({ name: destination, type: 'dir', path: outDir }, 'd[0]'),
      parseDestination({ name: blobDestination, type: 'blob', connectionStringEnv: STORAGE_ENV, containers }, 'd[1]'),
    ]);
    await store.close();
    admin = kafkaClient(brokers).admin();
    await admin.connect();
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await admin?.disconnect();
    if (outDir) await rm(outDir, { recursive: true, force: true });
    if (blobs) for (const c of Object.values(containers)) await blobs.getContainerClient(c).deleteIfExists().catch(() => undefined);
    if (brokers) await deleteTopics(brokers, [source.audit, source.operational, deadLetterTopic, destinationsTopic]);
  });

  function startForwarder(): ChildProcess {
    const child = spawn(process.execPath, [path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), 'forward', '--metrics-port', '0'], {
      env: {
        ...process.env,
        KAFKA_BROKERS: brokers.join(','),
        INSIGHT_LOGS_AUDIT_TOPIC: source.audit,
        INSIGHT_LOGS_OPERATIONAL_TOPIC: source.operational,
        INSIGHT_LOGS_DESTINATIONS_TOPIC: destinationsTopic,
        INSIGHT_LOGS_DEADLETTER_TOPIC: deadLetterTopic,
        [STORAGE_ENV]: storageConnectionString,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => { output = (output + d.toString()).slice(-8000); };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  }

  /** Records each destination's group has committed (dir, blob), and the source topics' end offsets. */
  async function progress(): Promise<{ committed: number[]; end: number }> {
    const committed = groupIds.map(() => 0);
    let end = 0;
    for (const topic of [source.audit, source.operational]) {
      for (const p of await admin.fetchTopicOffsets(topic)) end += Number(p.high);
      for (const [i, groupId] of groupIds.entries()) {
        const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
        for (const p of offsets?.partitions ?? []) committed[i]! += Math.max(0, Number(p.offset));
      }
    }
    return { committed, end };
  }

  async function dirTally(): Promise<Tally> {
    const tally: Tally = { counts: new Map(), lines: 0, unparseable: 0 };
    const entries = await readdir(outDir, { recursive: true, withFileTypes: true });
    for (const e of entries.filter((x) => x.isFile())) tallyLines(tally, await readFile(path.join(e.parentPath, e.name), 'utf8'));
    return tally;
  }

  async function blobTally(): Promise<Tally> {
    const tally: Tally = { counts: new Map(), lines: 0, unparseable: 0 };
    for (const name of Object.values(containers)) {
      const container = blobs.getContainerClient(name);
      if (!(await container.exists())) continue;
      for await (const b of container.listBlobsFlat()) tallyLines(tally, (await container.getBlobClient(b.name).downloadToBuffer()).toString('utf8'));
    }
    return tally;
  }

  async function publish(n: number, ids: string[]): Promise<void> {
    const producer = kafkaClient(brokers).producer();
    const schemas = defaultSchemaRegistry();
    await producer.connect();
    try {
      for (let sent = 0; sent < n; sent += 2000) {
        const byTopic = new Map<string, { key: string; value: Buffer }[]>();
        for (let i = sent; i < Math.min(n, sent + 2000); i++) {
          const uid = randomUUID();
          const instance = `CRASH-${i % 8}`;
          const event = i % 3 === 0 ? apiEventWithId(uid, { audit: true, instance }) : i % 3 === 1 ? apiEventWithId(uid, { instance }) : workflowEventWithId(uid, { instance });
          const topic = i % 3 === 0 ? source.audit : source.operational;
          byTopic.set(topic, [...(byTopic.get(topic) ?? []), { key: event.resourceId, value: schemas.encode(kindOf(event), event) }]);
          ids.push(uid);
        }
        await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
      }
    } finally {
      await producer.disconnect();
    }
  }

  test('missing = 0 in the files and in the blobs after a SIGKILL and a restart; duplicates counted', async () => {
    const started = Date.now();
    const published: string[] = [];
    let child = startForwarder();
    const publishing = publish(EVENTS, published);
    // Kill once the forwarder has committed some of the work but not all of it.
    const killDeadline = Date.now() + 120_000;
    for (;;) {
      const { committed } = await progress();
      // The slower destination has done some of the work (the faster one is not done yet either, checked below).
      if (Math.min(...committed) >= EVENTS * 0.3 || Date.now() > killDeadline) break;
      assert.equal(child.exitCode, null, `forwarder exited early:\n${output}`);
      await sleep(200);
    }
    const atKill = await progress();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    console.log(`killed after ${((Date.now() - started) / 1000).toFixed(1)} s with ${atKill.committed.join(' (dir) / ')} (blob) of ${atKill.end} published records committed`);
    assert.ok(atKill.committed.every((c) => c > 0 && c < EVENTS), `the kill came mid-run for both destinations (committed ${atKill.committed.join(', ')} of ${EVENTS})`);
    child = startForwarder();
    await publishing;
    assert.equal(published.length, EVENTS);
    const deadline = Date.now() + 300_000;
    for (;;) {
      const { committed, end } = await progress();
      if (end === EVENTS && committed.every((c) => c === end)) break;
      assert.ok(Date.now() < deadline, `not everything committed in time (dir ${committed[0]}, blob ${committed[1]} of ${end}):\n${output}`);
      assert.equal(child.exitCode, null, `forwarder exited:\n${output}`);
      await sleep(500);
    }
    const elapsed = (Date.now() - started) / 1000;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;

    const results: [string, Tally][] = [['files', await dirTally()], ['blobs', await blobTally()]];
    for (const [where, tally] of results) {
      const missing = published.filter((uid) => !tally.counts.has(uid)).length;
      const duplicates = tally.lines - tally.unparseable - tally.counts.size;
      console.log(`crash test (${where}): published ${EVENTS}, distinct delivered ${tally.counts.size}, missing ${missing}, duplicate lines ${duplicates}, torn lines ${tally.unparseable}, ${elapsed.toFixed(1)} s end to end (${Math.round(EVENTS / elapsed)} events/s incl. restart)`);
      assert.equal(missing, 0, `${missing} published records are not in the ${where}`);
      assert.equal(tally.counts.size, EVENTS, `records that were never published appeared in the ${where}`);
    }
  });
});
