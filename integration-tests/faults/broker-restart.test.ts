/**
 * Fault: the Kafka broker restarts mid-run. A private broker (helpers/private-kafka.ts: the
 * shared one on 9092 keeps running for everyone else) is stopped with SIGTERM and started again
 * on the same ports and data dir, once (3 times with FAULTS_LONG=1), while a producer keeps
 * publishing (failed sends are counted and sent again) and a spawned `insight-logs forward`
 * delivers to a dir destination. Pass: the forwarder never exits and resumes by itself,
 * nothing missing (oracle), duplicates reported, SIGTERM exits 0.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { printReport, readDirStreams } from '../helpers/oracle.js';
import { privateKafkaAvailable, startPrivateKafka, type PrivateKafka } from '../helpers/private-kafka.js';
import { FaultRun, LONG, random, sleep } from './harness.js';

const RESTARTS = LONG ? 3 : 1;
const DOWN_MS = LONG ? 30_000 : 10_000;
const RATE = 300;

describe('fault: Kafka broker restarted mid-run', { timeout: LONG ? 600_000 : 170_000 }, () => {
  const available = privateKafkaAvailable();
  let kafka: PrivateKafka;
  let run: FaultRun;
  let dir: string;
  const name = { dir: '' };

  before(async () => {
    if (!available) return;
    kafka = await startPrivateKafka();
    run = new FaultRun('broker-restart', { brokers: kafka.brokers });
    await run.setup();
    dir = await mkdtemp(path.join(os.tmpdir(), 'fault-broker-restart-'));
    name.dir = run.name('dir');
    await run.addDestinations([{ name: name.dir, type: 'dir', path: dir }]);
  });

  after(async () => {
    // The broker may be down when a step failed: bring it back so the run's topics can go.
    if (kafka && !kafka.running) await kafka.start().catch(() => undefined);
    await run?.cleanup();
    await kafka?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test(`${RESTARTS} × broker SIGTERM + restart (down ${DOWN_MS / 1000} s): the forwarder resumes, nothing lost`, { skip: !available && 'no Kafka jars in .local/kafka/libs (bash scripts/services.sh up)' }, async () => {
    const started = Date.now();
    await run.publish(500);
    const forwarder = run.spawnForwarder();
    await forwarder.metricsPort;
    const publisher = run.publishContinuously(RATE, { resendFailed: true });
    const resumeTimes: number[] = [];
    try {
      for (let r = 1; r <= RESTARTS; r++) {
        const before = await run.committed(name.dir);
        await run.waitForProgress(name.dir, before, 60_000, forwarder);
        await sleep(random(500, 3000));
        const atStop = await run.committed(name.dir);
        await kafka.stop();
        console.log(`[broker-restart] restart ${r}/${RESTARTS}: broker stopped (SIGTERM) with ${atStop} committed of ${run.oracle.publishedCount} published`);
        await sleep(DOWN_MS);
        assert.equal(forwarder.child.exitCode, null, `the forwarder exited while the broker was down:\n${forwarder.output().slice(-3000)}`);
        const restarted = Date.now();
        await kafka.start();
        // Resumed = its group commits past what it had committed before the broker went down.
        await run.waitForProgress(name.dir, atStop, 90_000, forwarder);
        resumeTimes.push(Date.now() - restarted);
        console.log(`[broker-restart] restart ${r}/${RESTARTS}: broker back in ${Date.now() - restarted} ms (start included), forwarder committing again`);
      }
    } finally {
      await publisher.stop();
    }
    await run.waitForLagZero([name.dir], LONG ? 180_000 : 90_000, [forwarder]);
    const health = await forwarder.healthz();
    assert.equal(health.status, 200, `healthz after the restarts: ${health.body}`);
    const stopped = await forwarder.stop('SIGTERM');
    assert.equal(stopped.code, 0, `exit ${stopped.code ?? stopped.signal}: ${forwarder.output().slice(-3000)}`);

    const report = run.oracle.check(name.dir, await readDirStreams(dir));
    printReport(report);
    console.log(`[broker-restart] publish failures resent: ${publisher.failures()}; resumed after ${resumeTimes.join(', ')} ms; total ${Math.round((Date.now() - started) / 1000)} s`);
    assert.equal(report.missing, 0, `missing ${report.missingSample.join(', ')}`);
    assert.equal(report.unexpected, 0, 'records this run did not publish');
    assert.equal(report.outOfOrder, 0, 'records of one resource out of order');
  });
});
