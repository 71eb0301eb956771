/**
 * Faults on a three-broker cluster (helpers/private-kafka.ts: three combined broker +
 * controller JVMs on 127.0.0.1, started by this file), topics created as the product creates
 * them (3 replicas, min.insync.replicas 2).
 *
 * 1. The partition leader of both topics, which is also the group coordinator, is killed with
 *    -9 while the SDK's EventProducer publishes at a steady rate and a spawned
 *    `insight-logs forward` delivers to dir and blob; then it is started again. At the same
 *    time `insight-logs simulate` publishes to topics with ONE replica (what a new user had),
 *    so it certainly loses partitions. Pass: every event the producer acknowledged is
 *    delivered to both destinations, once at least, in order per resource, in the container
 *    of its category; every other one was reported by the producer as PUBLISH_FAILED; the
 *    producer's close() and `simulate` end within a bound; the forwarder, whose group
 *    coordinator moved ("not the correct coordinator" rebalances), reaches lag 0 by itself.
 * 2. Kafka → Kafka exactly-once through a kill -9 and restart of the transaction coordinator:
 *    read_committed holds every event exactly once.
 * 3. `status` warns about a one-replica topic on three brokers, not about the product's own.
 *
 * FAULTS_LONG=1: three kills, longer outages, a higher rate.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import os from 'node:os';
import { createLogger } from '../../src/logging.js';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import type { InsightEvent } from '../../src/events/types.js';
import { hasCode } from '../../src/errors.js';
import { kafkaSettingsFromEnv } from '../../src/kafka/client.js';
import { ensureTopics } from '../../src/kafka/topics.js';
import { collectStatus } from '../../src/ops/status.js';
import { EventProducer } from '../../src/producer/event-producer.js';
import { createTopics, kafkaClient, readAll } from '../../testkit/kafka.js';
import { defaultSchemaRegistry } from '../../src/codec/schema-registry.js';
import { idOf } from '../helpers/records.js';
import { getServices } from '../../testkit/services.js';
import { printReport, readBlobStreams, readDirStreams, readKafkaStreams, type OracleReport } from '../helpers/oracle.js';
import { privateKafkaAvailable, startPrivateKafkaCluster, type PrivateKafkaCluster } from '../helpers/private-kafka.js';
import { eventFor, FaultRun, LONG, random, sleep, spawnCli } from './harness.js';

const KILLS = LONG ? 3 : 1;
const DOWN_MS = LONG ? 15_000 : 7_000;
const RATE = LONG ? 500 : 200;
const INSTANCES = 12;
const DELIVERY_TIMEOUT_MS = 20_000;
const CLOSE_TIMEOUT_MS = 10_000;
const SIMULATE_SECONDS = LONG ? 60 : 20;
const skip = !privateKafkaAvailable() && 'no Kafka jars in .local/kafka/libs (bash scripts/services.sh up)';

/** The oracle's promises for one destination: nothing missing, nothing foreign, order per resource, each record where its category goes. */
function assertDelivered(report: OracleReport): void {
  printReport(report);
  assert.equal(report.missing, 0, `${report.destination}: missing ${report.missingSample.join(', ')}`);
  assert.equal(report.unexpected, 0, `${report.destination}: records this run did not publish: ${report.unexpectedSample.join('\n')}`);
  assert.equal(report.outOfOrder, 0, `${report.destination}: records of one resource out of order`);
  assert.equal(report.misplaced, 0, `${report.destination}: records outside their category's container/topic: ${report.misplacedSample.join('\n')}`);
  assert.equal(report.altered, 0, `${report.destination}: records whose content differs from what was published: ${report.alteredSample.join('\n')}`);
}

/** Where `ids` sit in the run's source topics (topic/partition@offset), to tell a forwarder loss from a broker loss. */
async function whereInSource(run: FaultRun, ids: string[]): Promise<string> {
  const registry = defaultSchemaRegistry();
  const found: string[] = [];
  for (const topic of [run.topics.audit, run.topics.operational]) {
    for (const m of await readAll(run.brokers, topic, { timeoutMs: 60_000 })) {
      const id = idOf(registry.decode(m.value!).event);
      if (id && ids.includes(id)) found.push(`${id} at ${topic}/${m.partition}@${m.offset}`);
    }
  }
  return `${found.length} of ${ids.length} found: ${found.join(', ')}`;
}

describe('fault: three brokers, a partition leader killed', { skip, timeout: LONG ? 1_500_000 : 420_000 }, () => {
  let cluster: PrivateKafkaCluster;
  let storage: string;

  before(async () => {
    const started = Date.now();
    [cluster, { storageConnectionString: storage }] = await Promise.all([startPrivateKafkaCluster(), getServices()]);
    console.log(`[three-brokers] cluster ${cluster.brokers.join(',')} up in ${Date.now() - started} ms`);
  });

  after(async () => {
    await cluster?.dispose();
  });

  describe('leader + coordinator kill -9 while publishing, dir and blob', () => {
    let run: FaultRun;
    let dir: string;
    const names = { dir: '', blob: '' };
    const containers = { audit: '', operational: '' };
    const sim = { audit: '', operational: '' };

    before(async () => {
      run = new FaultRun('three-brokers', { brokers: cluster.brokers, instances: INSTANCES });
      await run.setup();
      dir = await mkdtemp(path.join(os.tmpdir(), 'fault-three-brokers-'));
      Object.assign(names, { dir: run.name('dir'), blob: run.name('blob') });
      Object.assign(containers, { audit: run.name('a'), operational: run.name('o') });
      Object.assign(sim, { audit: run.name('sim-audit', true), operational: run.name('sim-operational', true) });
      // simulate's topics have one replica each, as `topics ensure` made them before replication became the default.
      await createTopics(cluster.brokers, [sim.audit, sim.operational], 3);
      await run.addDestinations([
        { name: names.dir, type: 'dir', path: dir },
        { name: names.blob, type: 'blob', connectionStringEnv: 'AZURE_STORAGE_CONNECTION_STRING', containers },
      ]);
    });

    after(async () => {
      for (const n of cluster.nodes) await n.start().catch(() => undefined);
      await run?.cleanup();
      if (dir) await rm(dir, { recursive: true, force: true });
      const service = BlobServiceClient.fromConnectionString(storage);
      for (const c of Object.values(containers)) if (c) await service.getContainerClient(c).deleteIfExists().catch(() => undefined);
    });

    test(`${KILLS} × kill -9 of the leader of both topics (down ${DOWN_MS / 1000} s): 0 missing, failures reported, close bounded, lag 0`, async () => {
      const topicsOf = await kafkaClient(cluster.brokers).admin();
      await topicsOf.connect();
      const { topics: meta } = await topicsOf.fetchTopicMetadata({ topics: [run.topics.audit, run.topics.operational] });
      await topicsOf.disconnect();
      for (const t of meta) for (const p of t.partitions) assert.equal(p.replicas.length, 3, `${t.name}/${p.partitionId}: created with 3 replicas`);

      const forwarder = run.spawnForwarder({ AZURE_STORAGE_CONNECTION_STRING: storage }, ['--workers', '1']);
      await forwarder.metricsPort;

      // The SDK's producer, one chain per resource: the next event of a resource is handed over
      // once the previous one settled, so acknowledged events of one resource have one order.
      const producer = new EventProducer({
        kafka: kafkaSettingsFromEnv({ KAFKA_BROKERS: cluster.brokers.join(',') }),
        topics: { audit: run.topics.audit, operational: run.topics.operational },
        deliveryTimeoutMs: DELIVERY_TIMEOUT_MS, closeTimeoutMs: CLOSE_TIMEOUT_MS,
        // FAULT_PRODUCER_LOG=<file>: the producer's and kafkajs' own log at debug, to follow a failover.
        ...(process.env.FAULT_PRODUCER_LOG ? { logger: createLogger({ level: 'debug', destination: createWriteStream(process.env.FAULT_PRODUCER_LOG) }) } : {}),
      });
      const outcome = { handed: 0, acked: 0, failed: 0, otherErrors: [] as string[] };
      let seq = 0;
      const testStarted = Date.now();
      /** For the failure message: when each acknowledged event was handed over and acknowledged. */
      const ackedAt = new Map<string, { seq: number; handedMs: number; ackMs: number; resource: string; category: string }>();
      const killedAt: number[] = [];
      let publishing = true;
      const chain = async (r: number): Promise<void> => {
        for (let i = r; publishing; i += INSTANCES) {
          const event: InsightEvent = eventFor(i, INSTANCES);
          const mySeq = seq++;
          outcome.handed++;
          const t0 = Date.now();
          try {
            await producer.publish(event);
            ackedAt.set(idOf(event)!, { seq: mySeq, handedMs: t0 - testStarted, ackMs: Date.now() - testStarted, resource: event.resourceId.slice(-18), category: event.category });
            run.oracle.note(event, mySeq);
            outcome.acked++;
          } catch (err) {
            run.oracle.noteUncertain(event);
            if (hasCode(err, 'PUBLISH_FAILED')) outcome.failed++;
            else outcome.otherErrors.push(String(err));
          }
          await sleep(Math.max(0, (INSTANCES * 1000) / RATE - (Date.now() - t0)));
        }
      };
      const chains = Array.from({ length: INSTANCES }, (_, r) => chain(r));

      const simStarted = Date.now();
      const simulate = spawnCli(['simulate', '--rate', '300', '--duration', `${SIMULATE_SECONDS}s`, '--progress-every', '1h'],
        run.env({ INSIGHT_LOGS_AUDIT_TOPIC: sim.audit, INSIGHT_LOGS_OPERATIONAL_TOPIC: sim.operational }), { keepAll: true });

      // Connected before the first kill, so it is publishing when the leader dies (under CI load
      // its start once met the kill: a connect that meets a dead broker is another scenario).
      for (const waitUntil = Date.now() + 30_000; !/events\/s for /.test(simulate.output());) {
        assert.equal(simulate.child.exitCode, null, `simulate exited before publishing:\n${simulate.output().slice(-3000)}`);
        assert.ok(Date.now() < waitUntil, `simulate did not start publishing within 30 s:\n${simulate.output().slice(-3000)}`);
        await sleep(100);
      }

      const coordinatorMoves: string[] = [];
      try {
        for (let k = 1; k <= KILLS; k++) {
          for (const d of [names.dir, names.blob]) await run.waitForProgress(d, await run.committed(d), 60_000, forwarder);
          await sleep(random(1000, 3000));
          // With one offsets partition, its leader is the coordinator of every group: killing it
          // makes the forwarder meet "not the correct coordinator" and rebalance.
          const coordinator = (await cluster.leaders('__consumer_offsets')).get(0)!;
          const led = await Promise.all([run.topics.audit, run.topics.operational].map(async (t) => [...(await cluster.leaders(t)).values()].filter((l) => l === coordinator).length));
          assert.ok(led.every((n) => n > 0), `node ${coordinator} leads partitions of both topics (${led.join('/')})`);
          const atKill = await Promise.all([names.dir, names.blob].map((d) => run.committed(d)));
          killedAt.push(Date.now() - testStarted);
          await cluster.node(coordinator).stop('SIGKILL');
          console.log(`[three-brokers] kill ${k}/${KILLS}: node ${coordinator} (coordinator, leader of ${led.join('+')} partitions) killed -9 with ${atKill.join('/')} committed, ${outcome.acked} acknowledged`);
          await sleep(DOWN_MS);
          // The controller fences the node after broker.session.timeout.ms (4 s here); slower when it was the active controller.
          let newCoordinator = coordinator;
          for (let waited = 0; newCoordinator === coordinator && waited < 30_000; waited += 500) {
            newCoordinator = (await cluster.leaders('__consumer_offsets')).get(0)!;
            if (newCoordinator === coordinator) await sleep(500);
          }
          assert.notEqual(newCoordinator, coordinator, 'the group coordinator moved');
          coordinatorMoves.push(`${coordinator}→${newCoordinator}`);
          assert.equal(forwarder.child.exitCode, null, `the forwarder exited while a broker was down:\n${forwarder.output().slice(-3000)}`);
          // Two of three replicas stay in sync: the forwarder commits on while the node is down.
          await Promise.all([names.dir, names.blob].map((d, i) => run.waitForProgress(d, atKill[i]!, 90_000, forwarder)));
          const restarted = Date.now();
          await cluster.node(coordinator).start();
          console.log(`[three-brokers] kill ${k}/${KILLS}: node ${coordinator} back in ${Date.now() - restarted} ms`);
        }
        await sleep(3000);
      } finally {
        publishing = false;
        await Promise.all(chains);
      }
      const closeStarted = Date.now();
      await producer.close();
      const closeMs = Date.now() - closeStarted;
      const stats = producer.stats();
      console.log(`[three-brokers] producer: ${outcome.handed} handed over, ${outcome.acked} acknowledged, ${outcome.failed} PUBLISH_FAILED; close() took ${closeMs} ms`);
      assert.deepEqual(outcome.otherErrors, [], 'every failure is PUBLISH_FAILED');
      assert.equal(outcome.acked + outcome.failed, outcome.handed, 'every event settled: acknowledged or reported');
      assert.equal(stats.published + stats.failed, outcome.handed);
      assert.equal(stats.queued + stats.inFlight, 0);
      assert.ok(closeMs <= CLOSE_TIMEOUT_MS + 2000, `close() took ${closeMs} ms`);

      // simulate on one-replica topics: it certainly lost a partition for the outage, reports it, and exits.
      const simBoundMs = SIMULATE_SECONDS * 1000 + 30_000 /* its deliveryTimeoutMs */ + 10_000 /* close */ + 5_000 /* exit grace */ + 15_000;
      const simExit = await Promise.race([simulate.exited, sleep(Math.max(0, simStarted + simBoundMs - Date.now())).then(() => undefined)]);
      const simMs = Date.now() - simStarted;
      assert.ok(simExit, `simulate still running ${simMs} ms after it started (bound ${simBoundMs} ms):\n${simulate.output().slice(-3000)}`);
      const failedLine = /PUBLISH_FAILED: (\d+) of (\d+) events were not published/.exec(simulate.output());
      console.log(`[three-brokers] simulate exited ${simExit.code ?? simExit.signal} after ${simMs} ms; ${failedLine?.[0] ?? 'no failures'}`);
      const simLines = simulate.output().split('\n').filter((l) => !l.startsWith('{')).join('\n');
      assert.ok(simExit.code === 0 || (simExit.code === 1 && failedLine), `simulate: exit ${simExit.code ?? simExit.signal} without a PUBLISH_FAILED summary:\n${simLines.slice(-3000)}`);

      await run.waitForLagZero([names.dir, names.blob], LONG ? 300_000 : 150_000, [forwarder]);
      const health = await forwarder.healthz();
      assert.equal(health.status, 200, `healthz: ${health.body}`);
      const stopped = await forwarder.stop('SIGTERM');
      assert.equal(stopped.code, 0, `exit ${stopped.code ?? stopped.signal}: ${forwarder.output().slice(-3000)}`);
      const notCoordinator = (forwarder.output().match(/not the correct coordinator|NOT_COORDINATOR/gi) ?? []).length;
      console.log(`[three-brokers] coordinator moved ${coordinatorMoves.join(', ')}; forwarder log lines about the coordinator: ${notCoordinator}; lag 0 reached`);

      const expectedPlace = { audit: [containers.audit], operational: [containers.operational] };
      const reports = [
        run.oracle.check(names.dir, await readDirStreams(dir)),
        run.oracle.check(names.blob, await readBlobStreams(storage, Object.values(containers)), ['audit', 'operational'], expectedPlace),
      ];
      for (const r of reports) {
        if (r.missing === 0) continue;
        console.log(`[three-brokers] ${r.destination}: missing ones in the source topics: ${await whereInSource(run, r.missingSample)}`);
        console.log(`[three-brokers] killed at ${killedAt.join(', ')} ms; missing: ${r.missingSample.map((id) => JSON.stringify(ackedAt.get(id))).join(' ')}`);
      }
      for (const r of reports) assertDelivered(r);
    });
  });

  describe('Kafka → Kafka exactly-once through a kill -9 of the transaction coordinator', () => {
    let run: FaultRun;
    const target = { audit: '', operational: '' };
    let destination = '';

    before(async () => {
      run = new FaultRun('three-brokers-eos', { brokers: cluster.brokers });
      await run.setup();
      Object.assign(target, { audit: run.name('mirror-audit', true), operational: run.name('mirror-operational', true) });
      destination = run.name('mirror');
      await run.addDestinations([{ name: destination, type: 'kafka', brokers: cluster.brokers, topics: target, exactlyOnce: true }]);
    });

    after(async () => {
      for (const n of cluster.nodes) await n.start().catch(() => undefined);
      await run?.cleanup();
    });

    test('0 missing and 0 duplicates in read_committed', async () => {
      // Published before the fault, so the source holds each event once: any duplicate is the forwarder's.
      await run.publish(LONG ? 20_000 : 6000, { perSend: 500 });
      const forwarder = run.spawnForwarder({}, ['--workers', '1']);
      await forwarder.metricsPort;
      await run.waitForProgress(destination, 0, 90_000, forwarder);
      const coordinator = (await cluster.leaders('__transaction_state')).get(0)!;
      const atKill = await run.committed(destination);
      await cluster.node(coordinator).stop('SIGKILL');
      console.log(`[three-brokers-eos] node ${coordinator} (transaction coordinator) killed -9 with ${atKill} of ${run.oracle.publishedCount} committed`);
      await sleep(DOWN_MS);
      await cluster.node(coordinator).start();
      await run.waitForLagZero([destination], LONG ? 300_000 : 150_000, [forwarder]);
      const stopped = await forwarder.stop('SIGTERM');
      assert.equal(stopped.code, 0, `exit ${stopped.code ?? stopped.signal}: ${forwarder.output().slice(-3000)}`);
      const report = run.oracle.check(destination, await readKafkaStreams(cluster.brokers, [target.audit, target.operational]),
        ['audit', 'operational'], { audit: [target.audit], operational: [target.operational] });
      assertDelivered(report);
      assert.equal(report.duplicated, 0, 'exactly once: no duplicates in read_committed');
    });
  });

  test('status warns about a one-replica topic on three brokers, not about the product\'s own topics', async () => {
    const run = new FaultRun('three-brokers-status', { brokers: cluster.brokers });
    const admin = kafkaClient(cluster.brokers).admin();
    await admin.connect();
    try {
      await run.setup();
      const names = { audit: run.topics.audit, operational: run.name('thin', true), deadLetter: run.topics.deadLetter, destinations: run.topics.destinations };
      await createTopics(cluster.brokers, [names.operational], 1);
      await ensureTopics(admin, { names, only: ['deadLetter', 'destinations'] });
      const report = await collectStatus(admin, names, {});
      console.log(`[three-brokers-status] ${report.warnings.join(' | ')}`);
      assert.equal(report.warnings.length, 2, report.warnings.join('\n'));
      assert.match(report.warnings[0]!, new RegExp(`^${names.operational} has 1 replica\\(s\\) on a 3-broker cluster`));
      assert.match(report.warnings[1]!, new RegExp(`^${names.operational} has min.insync.replicas 1`));
    } finally {
      await admin.disconnect();
      await run.cleanup();
    }
  });
});
