/**
 * Crash test: `insight-logs forward` runs as a child process with a dir destination while
 * E2E_EVENTS events (default 100,000) are published; it is killed with SIGKILL mid-run and
 * started again. Once the consumer group has committed everything, every published id must
 * be in the files (missing = 0); duplicates (at-least-once) are counted and printed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Admin } from 'kafkajs';
import { defaultSchemaRegistry } from '../src/codec/schema-registry.js';
import { parseDestination } from '../src/config/destinations.js';
import { DestinationStore } from '../src/destinations/store.js';
import { kindOf } from '../src/events/types.js';
import { groupIdFor } from '../src/forwarder/pipeline.js';
import { createKafka, kafkaSettingsFromEnv } from '../src/kafka/client.js';
import { createTopics, deleteTopics, kafkaClient, uniqueName } from './helpers/kafka.js';
import { apiEventWithId, idOf, workflowEventWithId } from './helpers/records.js';
import { getServices, repoRoot } from './helpers/services.js';

const EVENTS = Number(process.env.E2E_EVENTS || 100_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`kill -9 mid-run: ${EVENTS} events through \`insight-logs forward\` to a dir destination`, { timeout: 600_000 }, () => {
  let brokers: string[];
  let admin: Admin;
  let outDir: string;
  let output = '';
  const children = new Set<ChildProcess>();
  const id = uniqueName('e2e-crash');
  const source = { audit: `${id}-audit`, operational: `${id}-operational` };
  const deadLetterTopic = `${id}-deadletter`;
  const destinationsTopic = `${id}-destinations`;
  const destination = uniqueName('crash-dir').toLowerCase();
  const groupId = groupIdFor(destination);

  before(async () => {
    brokers = (await getServices()).kafkaBrokers;
    outDir = await mkdtemp(path.join(os.tmpdir(), 'e2e-crash-'));
    await createTopics(brokers, [source.audit, source.operational], 3);
    const store = new DestinationStore({ kafka: createKafka(kafkaSettingsFromEnv({ KAFKA_BROKERS: brokers.join(',') })), topic: destinationsTopic });
    await store.apply([parseDestination({ name: destination, type: 'dir', path: outDir }, 'd[0]')]);
    await store.close();
    admin = kafkaClient(brokers).admin();
    await admin.connect();
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await admin?.disconnect();
    if (outDir) await rm(outDir, { recursive: true, force: true });
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

  /** Records the destination's group has committed, and the source topics' end offsets. */
  async function progress(): Promise<{ committed: number; end: number }> {
    let committed = 0;
    let end = 0;
    for (const topic of [source.audit, source.operational]) {
      for (const p of await admin.fetchTopicOffsets(topic)) end += Number(p.high);
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      for (const p of offsets?.partitions ?? []) committed += Math.max(0, Number(p.offset));
    }
    return { committed, end };
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

  test('missing = 0 after a SIGKILL and a restart; duplicates counted', async () => {
    const started = Date.now();
    const published: string[] = [];
    let child = startForwarder();
    const publishing = publish(EVENTS, published);
    // Kill once the forwarder has committed some of the work but not all of it.
    const killDeadline = Date.now() + 120_000;
    for (;;) {
      const { committed } = await progress();
      if (committed >= EVENTS * 0.3 || Date.now() > killDeadline) break;
      assert.equal(child.exitCode, null, `forwarder exited early:\n${output}`);
      await sleep(200);
    }
    const atKill = await progress();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    console.log(`killed after ${((Date.now() - started) / 1000).toFixed(1)} s with ${atKill.committed} of ${atKill.end} published records committed`);
    child = startForwarder();
    await publishing;
    assert.equal(published.length, EVENTS);
    const deadline = Date.now() + 300_000;
    for (;;) {
      const { committed, end } = await progress();
      if (committed === end && end === EVENTS) break;
      assert.ok(Date.now() < deadline, `not everything committed in time (${committed}/${end}):\n${output}`);
      assert.equal(child.exitCode, null, `forwarder exited:\n${output}`);
      await sleep(500);
    }
    const elapsed = (Date.now() - started) / 1000;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;

    const counts = new Map<string, number>();
    let lines = 0;
    let unparseable = 0;
    const entries = await readdir(outDir, { recursive: true, withFileTypes: true });
    for (const e of entries.filter((x) => x.isFile())) {
      for (const line of (await readFile(path.join(e.parentPath, e.name), 'utf8')).split('\n')) {
        if (line === '') continue;
        lines++;
        try {
          const uid = idOf(JSON.parse(line))!;
          counts.set(uid, (counts.get(uid) ?? 0) + 1);
        } catch {
          unparseable++;
        }
      }
    }
    const missing = published.filter((uid) => !counts.has(uid)).length;
    const duplicates = lines - unparseable - counts.size;
    console.log(`crash test: published ${EVENTS}, distinct delivered ${counts.size}, missing ${missing}, duplicate lines ${duplicates}, torn lines ${unparseable}, ${elapsed.toFixed(1)} s end to end (${Math.round(EVENTS / elapsed)} events/s incl. restart)`);
    assert.equal(missing, 0, `${missing} published records are not in the files`);
    assert.equal(counts.size, EVENTS, 'records that were never published appeared');
  });
});
