/**
 * End to end, Kafka → Kafka in exactly-once mode, through the real CLI:
 *   1. 20,000 events on fresh source topics; a do-nothing kafkajs consumer reads them (the
 *      ceiling), then `insight-logs forward` forwards them (throughput and ratio printed);
 *   2. 20,000 more are published while it runs; the forwarder is killed with SIGKILL in the
 *      middle, restarted, and runs until the consumer group lag is 0;
 *   3. the target topics, read with read_committed (kafkajs and kcat), hold every one of the
 *      40,000 events exactly once: zero duplicates, zero missing.
 * Every topic and group is unique to the run and deleted afterwards.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import { defaultSchemaRegistry } from '../src/codec/schema-registry.js';
import { kindOf, type InsightEvent } from '../src/events/types.js';
import { groupIdFor } from '../src/forwarder/pipeline.js';
import { getServices, repoRoot } from '../testkit/services.js';
import { createTopics, deleteTopics, kafkaClient, uniqueName } from '../testkit/kafka.js';
import { apiEventWithId, idOf, workflowEventWithId } from './helpers/records.js';

const execFileP = promisify(execFile);
const EVENTS_PER_PHASE = 20_000;
const PARTITIONS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Event `i`: a third audit API calls, a third operational API calls, a third workflow events, over 8 instances. */
function eventFor(i: number, id: string): InsightEvent {
  const instance = `E2E-INSTANCE-${i % 8}`;
  if (i % 3 === 0) return apiEventWithId(id, { audit: true, instance });
  if (i % 3 === 1) return apiEventWithId(id, { audit: false, instance });
  return workflowEventWithId(id, { instance });
}

describe('e2e: Kafka → Kafka exactly-once across kill -9', async () => {
  const services = await getServices();
  const brokers = services.kafkaBrokers;
  const base = uniqueName('eos');
  const source = { audit: `${base}-src-audit`, operational: `${base}-src-operational` };
  const target = { audit: `${base}-mirror-audit`, operational: `${base}-mirror-operational` };
  const destinationsTopic = `${base}-destinations`;
  const deadLetterTopic = `${base}-deadletter`;
  const destination = `${base}-mirror`;
  const groupId = groupIdFor(destination);
  const allTopics = [source.audit, source.operational, target.audit, target.operational, destinationsTopic, deadLetterTopic];
  const kafka: Kafka = kafkaClient(brokers);
  const admin = kafka.admin();
  const schemas = defaultSchemaRegistry();
  const expected = new Set<string>();
  const children = new Set<ChildProcess>();
  let output = '';

  async function publish(n: number, perSend = 1000, pauseMs = 0): Promise<void> {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (let sent = 0; sent < n; sent += perSend) {
        const byTopic = new Map<string, { key: string; value: Buffer; headers: Record<string, string> }[]>();
        for (let i = sent; i < Math.min(n, sent + perSend); i++) {
          const id = randomUUID();
          const event = eventFor(i, id);
          expected.add(id);
          const topic = i % 3 === 0 ? source.audit : source.operational;
          const list = byTopic.get(topic) ?? [];
          list.push({ key: event.resourceId, value: schemas.encode(kindOf(event), event), headers: { kind: kindOf(event) } });
          byTopic.set(topic, list);
        }
        await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
        if (pauseMs) await sleep(pauseMs);
      }
    } finally {
      await producer.disconnect();
    }
  }

  /** The CLI's environment: this run's own source, destinations and dead-letter topics. */
  const cliEnv = (): NodeJS.ProcessEnv => ({
    ...process.env,
    KAFKA_BROKERS: brokers.join(','),
    INSIGHT_LOGS_AUDIT_TOPIC: source.audit,
    INSIGHT_LOGS_OPERATIONAL_TOPIC: source.operational,
    INSIGHT_LOGS_DESTINATIONS_TOPIC: destinationsTopic,
    INSIGHT_LOGS_DEADLETTER_TOPIC: deadLetterTopic,
    LOG_LEVEL: 'warn',
  });
  const cliMain = (): string => path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');

  function startForwarder(): ChildProcess {
    const child = spawn(process.execPath, [cliMain(), 'forward', '--metrics-port', '0'], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => { output = (output + d.toString()).slice(-8000); };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  }

  async function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    await exited;
    clearTimeout(timer);
  }

  /** Records the group has committed on the source topics, and the source topics' end offsets. */
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

  /** Waits until the group has committed everything; returns when the first commit was seen (ms, performance clock). */
  async function waitForLagZero(child: ChildProcess, timeoutMs: number): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    let firstCommit: { at: number; committed: number } | undefined;
    const startCommitted = (await progress()).committed;
    for (;;) {
      const { committed, end } = await progress();
      if (!firstCommit && committed > startCommitted) firstCommit = { at: performance.now(), committed };
      if (end > 0 && committed === end) return firstCommit?.at;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`forwarder exited (${child.exitCode ?? child.signalCode}):\n${output}`);
      if (Date.now() > deadline) throw new Error(`lag still ${end - committed} after ${timeoutMs} ms:\n${output}`);
      await sleep(100);
    }
  }

  /** Every message value on the target topics, read with read_committed by a kafkajs consumer. */
  async function readCommittedWithKafkajs(minimum: number): Promise<string[]> {
    const consumer = kafka.consumer({ groupId: uniqueName('verify'), readUncommitted: false, maxWaitTimeInMs: 200 });
    const ids: string[] = [];
    let lastArrival = Date.now();
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [target.audit, target.operational], fromBeginning: true });
      await consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) ids.push(idOf(JSON.parse(m.value!.toString()))!);
          lastArrival = Date.now();
        },
      });
      // The topics are quiet (the forwarder stopped): done when the count is reached and nothing more came for 3 s.
      const deadline = Date.now() + 60_000;
      while ((ids.length < minimum || Date.now() - lastArrival < 3000) && Date.now() < deadline) await sleep(200);
    } finally {
      await consumer.disconnect();
    }
    return ids;
  }

  async function readWithKcat(topic: string, isolation: 'read_committed' | 'read_uncommitted' = 'read_committed'): Promise<string[]> {
    const { stdout } = await execFileP('kcat', ['-C', '-b', brokers.join(','), '-t', topic, '-o', 'beginning', '-e', '-q',
      '-X', `isolation.level=${isolation}`, '-f', '%s\n'], { timeout: 60_000, maxBuffer: 256 << 20 });
    return stdout.split('\n').filter(Boolean).map((l) => idOf(JSON.parse(l))!);
  }

  function count(ids: string[]): { total: number; unique: number; duplicates: number; missing: number; unexpected: number } {
    const unique = new Set(ids);
    let missing = 0;
    for (const id of expected) if (!unique.has(id)) missing++;
    let unexpected = 0;
    for (const id of unique) if (!expected.has(id)) unexpected++;
    return { total: ids.length, unique: unique.size, duplicates: ids.length - unique.size, missing, unexpected };
  }

  before(async () => {
    await admin.connect();
    await createTopics(brokers, [source.audit, source.operational, target.audit, target.operational], PARTITIONS);
    // Through the CLI, as an operator would (strings from flags: the type validates them).
    await execFileP(process.execPath, [cliMain(), 'destinations', 'add', destination, '--type', 'kafka', '--brokers', brokers.join(','),
      '--set', `topics.audit=${target.audit}`, '--set', `topics.operational=${target.operational}`, '--set', 'exactlyOnce=true'],
    { env: cliEnv(), timeout: 60_000 });
  });

  after(async () => {
    for (const child of children) await stopProcess(child, 'SIGKILL');
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
    await deleteTopics(brokers, allTopics);
  });

  test('20,000 events forwarded; kill -9 mid-stream; read_committed sees every event exactly once', async () => {
    // Phase 1: throughput against a do-nothing consumer on the same 20,000 events.
    await publish(EVENTS_PER_PHASE);
    const baselineStart = performance.now();
    const baseline = kafka.consumer({ groupId: uniqueName('baseline'), maxWaitTimeInMs: 200 });
    await baseline.connect();
    let consumed = 0;
    await baseline.subscribe({ topics: [source.audit, source.operational], fromBeginning: true });
    await baseline.run({ autoCommit: false, eachBatch: async ({ batch }) => { consumed += batch.messages.length; } });
    while (consumed < EVENTS_PER_PHASE) await sleep(20);
    const baselineSeconds = (performance.now() - baselineStart) / 1000;
    await baseline.disconnect();

    const forwardStart = performance.now();
    let forwarder = startForwarder();
    const firstCommitAt = await waitForLagZero(forwarder, 90_000);
    const forwardEnd = performance.now();
    const forwardSeconds = (forwardEnd - forwardStart) / 1000;
    const forwardRate = EVENTS_PER_PHASE / forwardSeconds;
    const baselineRate = EVENTS_PER_PHASE / baselineSeconds;
    console.log(`[e2e-kafka-eos] Kafka → Kafka exactly-once: ${EVENTS_PER_PHASE} events in ${forwardSeconds.toFixed(2)} s = ${Math.round(forwardRate)} records/s (process start to lag 0)`);
    console.log(`[e2e-kafka-eos] do-nothing kafkajs consumer: ${EVENTS_PER_PHASE} events in ${baselineSeconds.toFixed(2)} s = ${Math.round(baselineRate)} records/s (connect to last record)`);
    if (firstCommitAt !== undefined) {
      const steadySeconds = (forwardEnd - firstCommitAt) / 1000;
      console.log(`[e2e-kafka-eos] startup (spawn to first transaction committed): ${((firstCommitAt - forwardStart) / 1000).toFixed(2)} s; after it ${Math.round(EVENTS_PER_PHASE / Math.max(steadySeconds, 0.001))} records/s (upper bound: the first commit already held some records)`);
    }
    console.log(`[e2e-kafka-eos] forwarder / do-nothing consumer = ${(forwardRate / baselineRate).toFixed(3)}`);

    // Phase 2: publish while it runs; kill -9 in the middle of the backlog and restart. (Each
    // restart waits for the killed member's session to time out, so one kill keeps this short;
    // sink-kafka.test.ts aborts a dangling transaction deterministically.)
    const publishing = publish(EVENTS_PER_PHASE, 1000, 20);
    for (const fraction of [0.25]) {
      const killAfter = EVENTS_PER_PHASE + Math.round(EVENTS_PER_PHASE * fraction);
      let atKill = await progress();
      while (atKill.committed < killAfter) {
        if (forwarder.exitCode !== null) throw new Error(`forwarder exited early:\n${output}`);
        await sleep(25);
        atKill = await progress();
      }
      await stopProcess(forwarder, 'SIGKILL');
      console.log(`[e2e-kafka-eos] kill -9 with ${atKill.committed} of ${atKill.end} published records committed`);
      assert.ok(atKill.committed < 2 * EVENTS_PER_PHASE, 'the kill came mid-stream');
      forwarder = startForwarder();
    }
    await publishing;

    await waitForLagZero(forwarder, 90_000);
    await stopProcess(forwarder, 'SIGTERM');

    // Phase 3: read back with read_committed, twice, with two different clients.
    assert.equal(expected.size, 2 * EVENTS_PER_PHASE);
    const viaKafkajs = count(await readCommittedWithKafkajs(expected.size));
    const viaKcat = count([...(await readWithKcat(target.audit)), ...(await readWithKcat(target.operational))]);
    console.log(`[e2e-kafka-eos] read_committed via kafkajs: ${JSON.stringify(viaKafkajs)}`);
    console.log(`[e2e-kafka-eos] read_committed via kcat:    ${JSON.stringify(viaKcat)}`);
    // Evidence the kill hit open transactions: their records stay in the log, aborted, visible only to read_uncommitted.
    const uncommitted = count([...(await readWithKcat(target.audit, 'read_uncommitted')), ...(await readWithKcat(target.operational, 'read_uncommitted'))]);
    console.log(`[e2e-kafka-eos] read_uncommitted via kcat: ${uncommitted.total} records, ${uncommitted.duplicates} of them written by transactions the kill left open and the restarts aborted`);
    for (const result of [viaKafkajs, viaKcat]) {
      assert.equal(result.duplicates, 0, 'no duplicates');
      assert.equal(result.missing, 0, 'nothing missing');
      assert.equal(result.unexpected, 0, 'nothing that was not published');
      assert.equal(result.total, expected.size);
    }
  });
});
