/**
 * Fault: SIGTERM under load. A spawned `insight-logs forward` with a dir destination gets SIGTERM
 * while it works through a backlog and new events keep arriving (once; 3 times with
 * FAULTS_LONG=1, restarted each time). Pass:
 *   - exit code 0, within the stop timeout;
 *   - committed ⊆ delivered: every source record below the group's committed offset (read with
 *     admin.fetchOffsets for `insight-logs-forwarder.<name>`) is in the destination;
 *   - after a restart, the oracle finds nothing missing, and the records delivered twice are at
 *     most one chunk (DEFAULT_CHUNK_LIMITS.maxRecords) per source partition.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CHUNK_LIMITS } from '../../src/forwarder/chunking.js';
import { printReport, readDirStreams } from '../helpers/oracle.js';
import { idOf } from '../helpers/records.js';
import { getServices } from '../../testkit/services.js';
import { FaultRun, LONG, random, sleep } from './harness.js';

const ROUNDS = LONG ? 3 : 1;
const BACKLOG = LONG ? 60_000 : 30_000;
const RATE = 500;

describe('fault: SIGTERM under load', { timeout: LONG ? 600_000 : 170_000 }, () => {
  let run: FaultRun;
  let dir: string;
  let name = '';

  before(async () => {
    run = new FaultRun('sigterm', { brokers: (await getServices()).kafkaBrokers });
    await run.setup();
    dir = await mkdtemp(path.join(os.tmpdir(), 'fault-sigterm-'));
    name = run.name('dir');
    await run.addDestinations([{ name, type: 'dir', path: dir }]);
  });

  after(async () => {
    await run?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test(`${ROUNDS} × SIGTERM mid-backlog: exit 0, committed ⊆ delivered, redelivery ≤ one chunk per partition`, async () => {
    const started = Date.now();
    await run.publish(BACKLOG, { perSend: 1000 });
    for (let r = 1; r <= ROUNDS; r++) {
      const forwarder = run.spawnForwarder();
      const publisher = run.publishContinuously(RATE);
      let stopMs: number;
      try {
        await run.waitForProgress(name, await run.committed(name), 60_000, forwarder);
        await sleep(random(0, 300));
        const signalled = Date.now();
        const stopped = await forwarder.stop('SIGTERM');
        stopMs = Date.now() - signalled;
        assert.equal(stopped.code, 0, `exit ${stopped.code ?? stopped.signal}: ${forwarder.output().slice(-3000)}`);
      } finally {
        await publisher.stop();
      }

      // committed ⊆ delivered, read while no forwarder runs.
      const committed = await run.committedOffsets(name);
      const delivered = new Set<string>();
      for (const s of await readDirStreams(dir)) for (const rec of s.records) { const id = idOf(rec); if (id) delivered.add(id); }
      const source = await run.sourceIds();
      let below = 0;
      let deliveredAbove = 0;
      const notDelivered: string[] = [];
      for (const [key, ids] of source) {
        const upTo = committed.get(key) ?? -1;
        ids.forEach((id, offset) => {
          if (!id) return;
          if (offset < upTo) {
            below++;
            if (!delivered.has(id)) notDelivered.push(`${key}@${offset}`);
          } else if (delivered.has(id)) deliveredAbove++;
        });
      }
      console.log(`[sigterm] round ${r}/${ROUNDS}: exit 0 in ${stopMs} ms; ${below} records below the committed offsets, all delivered: ${notDelivered.length === 0}; delivered but not committed: ${deliveredAbove}; backlog left ${await run.lag(name)}`);
      assert.ok(below > 0, 'the forwarder committed something before SIGTERM');
      assert.deepEqual(notDelivered.slice(0, 10), [], `committed but not in the destination (${notDelivered.length})`);
    }

    // Restart: everything gets through, and what was delivered twice is bounded.
    const forwarder = run.spawnForwarder();
    await run.waitForLagZero([name], LONG ? 300_000 : 90_000, [forwarder]);
    const stopped = await forwarder.stop('SIGTERM');
    assert.equal(stopped.code, 0, `exit ${stopped.code ?? stopped.signal}: ${forwarder.output().slice(-3000)}`);

    const streams = await readDirStreams(dir);
    const report = run.oracle.check(name, streams);
    printReport(report);
    const partitionOf = new Map<string, string>();
    for (const [key, ids] of await run.sourceIds()) for (const id of ids) if (id) partitionOf.set(id, key);
    const times = new Map<string, number>();
    for (const s of streams) for (const rec of s.records) { const id = idOf(rec); if (id) times.set(id, (times.get(id) ?? 0) + 1); }
    const duplicatesPerPartition = new Map<string, number>();
    for (const [id, n] of times) {
      if (n < 2) continue;
      const key = partitionOf.get(id) ?? '?';
      duplicatesPerPartition.set(key, (duplicatesPerPartition.get(key) ?? 0) + n - 1);
    }
    console.log(`[sigterm] duplicates per partition: ${JSON.stringify(Object.fromEntries(duplicatesPerPartition))} (bound ${DEFAULT_CHUNK_LIMITS.maxRecords} × ${ROUNDS} round(s)); total ${Math.round((Date.now() - started) / 1000)} s`);
    assert.equal(report.missing, 0, `missing ${report.missingSample.join(', ')}`);
    assert.equal(report.unexpected, 0, 'records this run did not publish');
    assert.equal(report.outOfOrder, 0, 'records of one resource out of order');
    for (const [key, n] of duplicatesPerPartition) {
      assert.ok(n <= DEFAULT_CHUNK_LIMITS.maxRecords * ROUNDS, `${key}: ${n} records delivered twice, more than one chunk per SIGTERM`);
    }
  });
});
