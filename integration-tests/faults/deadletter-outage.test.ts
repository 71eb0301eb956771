/**
 * Fault: the dead-letter topic cannot be written. A spawned `insight-logs forward --workers 1`
 * delivers this run's own source topics to a dir destination; the run's dead-letter topic is
 * deleted (the dead-letter producer never creates topics, and nothing else of the run asks
 * for it while it is gone), then good events of one resource are published with an
 * undecodable record of the same resource in the middle.
 *
 * Pass, while the topic is gone (for HOLD_MS): the destination's committed offset on that
 * partition never passes the bad record, the forwarder says 'dead-letter write failed;
 * retrying before any commit' at a bounded rate (backoff, no hot loop) and stays alive.
 * Once the topic is created again (same partitions, by the product's own `ensureTopics`): the
 * bad record is in it exactly once for the destination, the commit moves past it, lag 0,
 * and the oracle finds every good event, in order, unaltered, in its place.
 * Second case: SIGTERM while the topic is gone ends the process (exit 0, within a bound)
 * without committing past the bad record; a restarted forwarder dead-letters it once the
 * topic is back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultSchemaRegistry } from '../../src/codec/schema-registry.js';
import { kindOf, type InsightEvent } from '../../src/events/types.js';
import { DEADLETTER_HEADERS } from '../../src/forwarder/dead-letter.js';
import { kafkaSettingsFromEnv } from '../../src/kafka/client.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { readAll, withAdmin } from '../../testkit/kafka.js';
import { getServices } from '../../testkit/services.js';
import { printReport, readDirStreams } from '../helpers/oracle.js';
import { apiEventWithId } from '../helpers/records.js';
import { FaultRun, LONG, sleep, type ForwardProcess } from './harness.js';

const HOLD_MS = LONG ? 40_000 : 8_000;
const PARTITIONS = 3;
const WARNING = 'dead-letter write failed; retrying before any commit';
/** A clean stop with the dead-letter topic gone: a write in flight fails within ~4 s, then the pipeline leaves the batch. */
const STOP_BOUND_MS = 10_000;
const registry = defaultSchemaRegistry();

describe('fault: the dead-letter topic is unwritable', { timeout: LONG ? 400_000 : 170_000 }, () => {
  let run: FaultRun;
  let dir: string;
  let name = '';

  before(async () => {
    run = new FaultRun('dlq-outage', { brokers: (await getServices()).kafkaBrokers, partitions: PARTITIONS });
    await run.setup();
    dir = await mkdtemp(path.join(os.tmpdir(), 'fault-dlq-outage-'));
    name = run.name('dir');
    await run.addDestinations([{ name, type: 'dir', path: dir }]);
  });

  after(async () => {
    await run?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const deadLetterExists = async (): Promise<boolean> => withAdmin(run.brokers, async (admin) => (await admin.listTopics()).includes(run.topics.deadLetter));

  async function deleteDeadLetterTopic(): Promise<void> {
    await withAdmin(run.brokers, (admin) => admin.deleteTopics({ topics: [run.topics.deadLetter], timeout: 30_000 }));
    for (let i = 0; await deadLetterExists(); i++) {
      assert.ok(i < 100, 'the dead-letter topic is still listed 10 s after its deletion');
      await sleep(100);
    }
  }

  /** Created again as the product creates it (same partitions, the cluster's replication). */
  async function recreateDeadLetterTopic(): Promise<void> {
    await ensureTopics(kafkaSettingsFromEnv({ KAFKA_BROKERS: run.brokers.join(',') }), {
      names: { deadLetter: run.topics.deadLetter }, only: ['deadLetter'], partitions: PARTITIONS,
    });
  }

  /**
   * Good operational events of one resource, an undecodable record keyed by that resource in
   * the middle, in one request (one partition, consecutive offsets). Returns where the bad one is.
   */
  async function publishAroundBad(instance: string): Promise<{ key: string; offset: number; value: Buffer }> {
    const good: InsightEvent[] = Array.from({ length: 10 }, () => apiEventWithId(randomUUID(), { audit: false, instance }));
    const rid = good[0]!.resourceId;
    const bad = randomBytes(48);
    const messages = good.map((e) => ({ key: rid, value: registry.encode(kindOf(e), e) }));
    messages.splice(5, 0, { key: rid, value: bad });
    const [written] = await run.sendRaw([{ topic: run.topics.operational, messages }], good);
    assert.ok(written, 'Kafka answered the send');
    return { key: `${run.topics.operational}/${written.partition}`, offset: Number(written.baseOffset) + 5, value: bad };
  }

  /** Records not yet committed by the destination, per `topic/partition`. */
  async function lagByPartition(): Promise<Map<string, number>> {
    const committed = await run.committedOffsets(name);
    const out = new Map<string, number>();
    for (const topic of [run.topics.audit, run.topics.operational]) {
      for (const end of await withAdmin(run.brokers, (admin) => admin.fetchTopicOffsets(topic))) {
        const key = `${topic}/${end.partition}`;
        out.set(key, Number(end.high) - Math.max(0, committed.get(key) ?? 0));
      }
    }
    return out;
  }

  const committedAt = async (key: string): Promise<number> => (await run.committedOffsets(name)).get(key) ?? -1;
  const warnings = (p: ForwardProcess): number => p.output().split(WARNING).length - 1;
  /** User + system CPU time of a process so far, in ms (Linux /proc; clock ticks of 10 ms). */
  const cpuMs = (pid: number): number => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  };

  /** For `ms`: the commit on `at.key` never passes the bad record, the topic stays gone, the forwarder alive. */
  async function assertHeld(forwarder: ForwardProcess, at: { key: string; offset: number }, ms: number): Promise<number> {
    const until = Date.now() + ms;
    let highest = -1;
    while (Date.now() < until) {
      const c = await committedAt(at.key);
      highest = Math.max(highest, c);
      assert.ok(c <= at.offset, `committed ${c} on ${at.key}, past the bad record at ${at.offset}, while the dead-letter topic is gone`);
      assert.equal(forwarder.child.exitCode, null, `the forwarder exited while the dead-letter topic was gone:\n${forwarder.output().slice(-3000)}`);
      // Waiting for the dead-letter topic must not cost the group membership (heartbeats go on).
      const group = await run.groupMembers(name);
      assert.deepEqual(group, { state: 'Stable', members: 1 }, 'the consumer group rebalanced while the dead-letter write waited');
      await sleep(250);
    }
    assert.equal(await deadLetterExists(), false, 'something created the dead-letter topic again while it was to stay gone');
    return highest;
  }

  /** The commit is past `bad`, which is the destination's one and only dead letter, naming its source offset. */
  async function assertDeadLetteredOnce(bad: { key: string; offset: number; value: Buffer }): Promise<void> {
    assert.ok(await committedAt(bad.key) > bad.offset, 'the commit moved past the bad record');
    const letters = (await readAll(run.brokers, run.topics.deadLetter, { timeoutMs: 30_000 }))
      .filter((m) => String(m.headers[DEADLETTER_HEADERS.destination] ?? '') === name);
    const mine = letters.filter((m) => m.value?.equals(bad.value));
    assert.equal(mine.length, 1, `the bad record dead-lettered ${mine.length} times for ${name}`);
    assert.equal(String(mine[0]!.headers[DEADLETTER_HEADERS.sourceOffset]), String(bad.offset), 'the dead letter names the source offset');
    assert.equal(letters.length, 1, `dead letters besides the bad record: ${letters.length}`);
  }

  let first: { key: string; offset: number; value: Buffer };
  let forwarder: ForwardProcess;
  let firstPassed = false;

  test(`dead-letter topic gone ${HOLD_MS / 1000} s mid-run: no commit past the bad record, then it is dead-lettered once and nothing is lost`, async () => {
    forwarder = run.spawnForwarder({}, ['--workers', '1']);
    await forwarder.metricsPort;
    await run.publish(300);
    await run.waitForLagZero([name], 60_000, [forwarder]);

    await deleteDeadLetterTopic();
    first = await publishAroundBad('DLQ-OUTAGE-1');
    // More good events on every partition, after the bad record.
    await run.publish(120);
    const outageStart = Date.now();
    const cpuBefore = cpuMs(forwarder.child.pid!);
    const highest = await assertHeld(forwarder, first, HOLD_MS);
    const cpu = cpuMs(forwarder.child.pid!) - cpuBefore;
    const held = Date.now() - outageStart;
    const attempts = warnings(forwarder);
    // A figure, not a promise: kafkajs fetches from a broker again only when every batch of its
    // last fetch was handled, so the other partitions on that broker wait too.
    const others = [...(await lagByPartition())].filter(([key]) => key !== first.key).reduce((n, [, lag]) => n + lag, 0);
    console.log(`[dlq-outage] topic gone ${held} ms: committed ${highest} on ${first.key} (bad record at ${first.offset}); ${others} records waiting on the other partitions; ${attempts} failed dead-letter writes logged; forwarder CPU ${cpu} ms`);
    assert.ok(attempts >= 1, `no '${WARNING}' warning in ${held} ms:\n${forwarder.output().slice(-3000)}`);
    // Backoff (0.5 s doubling, jittered) between attempts: a hot loop would log hundreds.
    assert.ok(attempts <= held / 250, `${attempts} failed attempts in ${held} ms: retrying without backoff`);
    assert.ok(cpu < held / 2, `forwarder used ${cpu} ms of CPU in ${held} ms while waiting: a hot loop`);

    const back = Date.now();
    await recreateDeadLetterTopic();
    await run.waitForLagZero([name], 60_000, [forwarder]);
    console.log(`[dlq-outage] topic back: lag 0 after ${Date.now() - back} ms`);
    await assertDeadLetteredOnce(first);
    const health = await forwarder.healthz();
    assert.equal(health.status, 200, `healthz: ${health.body}`);
    firstPassed = true;
  });

  test('SIGTERM while the dead-letter topic is gone: clean exit, no commit past the bad record; a restart dead-letters it', async () => {
    assert.ok(firstPassed, 'the first case passed (this one goes on from where it left the forwarder and the topic)');
    await deleteDeadLetterTopic();
    const before = warnings(forwarder);
    const second = await publishAroundBad('DLQ-OUTAGE-2');
    for (let waited = 0; warnings(forwarder) === before; waited += 100) {
      assert.ok(waited < 60_000, `no failed dead-letter write within 60 s:\n${forwarder.output().slice(-3000)}`);
      await sleep(100);
    }
    await assertHeld(forwarder, second, 2000);
    const stopAt = Date.now();
    const stopped = await forwarder.stop('SIGTERM');
    const stopMs = Date.now() - stopAt;
    console.log(`[dlq-outage] SIGTERM with the topic gone: exit ${stopped.code ?? stopped.signal} after ${stopMs} ms`);
    assert.equal(stopped.code, 0, `exit ${stopped.code ?? stopped.signal}:\n${forwarder.output().slice(-3000)}`);
    assert.ok(stopMs <= STOP_BOUND_MS, `the stop took ${stopMs} ms`);
    const afterStop = await committedAt(second.key);
    assert.ok(afterStop <= second.offset, `committed ${afterStop} on ${second.key} on the way out, past the bad record at ${second.offset}`);
    assert.equal(await deadLetterExists(), false, 'the stopping forwarder created the dead-letter topic');

    await recreateDeadLetterTopic();
    const restarted = run.spawnForwarder({}, ['--workers', '1']);
    await restarted.metricsPort;
    await run.waitForLagZero([name], 60_000, [restarted]);
    // The first bad record went with the deleted topic: only the second one is there now.
    await assertDeadLetteredOnce(second);

    const report = run.oracle.check(name, await readDirStreams(dir));
    printReport(report);
    assert.equal(report.missing, 0, `missing ${report.missingSample.join(', ')}`);
    assert.equal(report.unexpected, 0, `unexpected ${report.unexpectedSample.join('\n')}`);
    assert.equal(report.outOfOrder, 0, 'records of one resource out of order');
    assert.equal(report.misplaced, 0, `misplaced ${report.misplacedSample.join(', ')}`);
    assert.equal(report.altered, 0, `altered ${report.alteredSample.join(', ')}`);
    const exit = await restarted.stop('SIGTERM');
    assert.equal(exit.code, 0, `restarted forwarder exit ${exit.code ?? exit.signal}`);
  });
});
