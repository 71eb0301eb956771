/**
 * Fault: scaling in and out by accident. Two spawned `insight-logs forward` share the work of
 * the same destinations (a dir folder and Event Hubs, the double); one is killed with
 * kill -9 mid-run, the survivor takes its partitions once the group drops the dead member
 * (the session timeout: 10 s by default, INSIGHT_LOGS_SESSION_TIMEOUT_MS), then a new second
 * process is started (back to two). Once (3 times with FAULTS_LONG=1). Pass: the group really
 * went 2 → 1 → 2 members, nothing missing (oracle), duplicates reported, SIGTERM exits 0 for both.
 */
import { defaultWorkerCount } from '../../src/forwarder/workers.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEventHubsDouble, type EventHubsEndpoint } from '../../testkit/eventhubs.js';
import { placementOf, printReport, readDirStreams, readEventHubsStreams } from '../helpers/oracle.js';
import { getServices } from '../../testkit/services.js';
import { FaultRun, LONG, random, sleep, type ForwardProcess } from './harness.js';

const CYCLES = LONG ? 3 : 1;
const RATE = 300;
const EH_ENV = 'FAULT_REBALANCE_EVENTHUBS';

describe('fault: two forwarders, one killed, scaled back to two', { timeout: LONG ? 600_000 : 170_000 }, () => {
  let run: FaultRun;
  let eh: EventHubsEndpoint;
  let dir: string;
  const names = { dir: '', hub: '' };
  const hubs = { audit: '', operational: '' };

  before(async () => {
    run = new FaultRun('rebalance', { brokers: (await getServices()).kafkaBrokers, partitions: 4 });
    await run.setup();
    eh = await startEventHubsDouble({ partitions: 2 });
    dir = await mkdtemp(path.join(os.tmpdir(), 'fault-rebalance-'));
    Object.assign(names, { dir: run.name('dir'), hub: run.name('hub') });
    Object.assign(hubs, { audit: run.name('hub-audit'), operational: run.name('hub-operational') });
    await eh.createHubs(Object.values(hubs));
    await run.addDestinations([
      { name: names.dir, type: 'dir', path: dir },
      { name: names.hub, type: 'eventhubs', connectionStringEnv: EH_ENV, hubs },
    ]);
  });

  after(async () => {
    await run?.cleanup();
    await eh?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /**
   * Group members per `forward` process: it runs one worker per core by default, each a group
   * member; a kill -9 of the process takes all of its workers with it (they exit when their
   * primary's channel closes).
   */
  const WORKERS_PER_FORWARDER = Number(process.env.INSIGHT_LOGS_WORKERS || defaultWorkerCount());
  /** Waits until every destination's group is Stable with `members` members; resolves the time it took. */
  async function waitForMembers(members: number, timeoutMs: number, alive: ForwardProcess[]): Promise<number> {
    const start = Date.now();
    for (;;) {
      const groups = await Promise.all([names.dir, names.hub].map((d) => run.groupMembers(d)));
      if (groups.every((g) => g.state === 'Stable' && g.members === members)) return Date.now() - start;
      for (const p of alive) assert.equal(p.child.exitCode, null, `a forwarder exited:\n${p.output().slice(-3000)}`);
      if (Date.now() - start > timeoutMs) throw new Error(`groups not Stable with ${members} member(s) after ${timeoutMs} ms: ${JSON.stringify(groups)}`);
      await sleep(200);
    }
  }

  test(`${CYCLES} × kill -9 of one of two forwarders, then back to two: nothing lost`, async () => {
    const started = Date.now();
    const env = { [EH_ENV]: eh.connectionString() };
    const session = process.env.INSIGHT_LOGS_SESSION_TIMEOUT_MS ?? '10000 (default)';
    await run.publish(500);
    const publisher = run.publishContinuously(RATE);
    let pair: [ForwardProcess, ForwardProcess] = [run.spawnForwarder(env), run.spawnForwarder(env)];
    const failovers: number[] = [];
    try {
      await waitForMembers(2 * WORKERS_PER_FORWARDER, 90_000, pair);
      for (let c = 1; c <= CYCLES; c++) {
        const [victim, survivor] = pair;
        await run.waitForProgress(names.dir, await run.committed(names.dir), 60_000, survivor);
        await sleep(random(200, 2000));
        const killed = Date.now();
        assert.equal((await victim.stop('SIGKILL')).signal, 'SIGKILL');
        // Failover: the dead member is dropped and the survivor owns every partition.
        const failover = await waitForMembers(1 * WORKERS_PER_FORWARDER, 90_000, [survivor]);
        failovers.push(failover);
        const atFailover = await run.committed(names.dir);
        await run.waitForProgress(names.dir, atFailover, 60_000, survivor);
        console.log(`[rebalance] cycle ${c}/${CYCLES}: kill -9 → survivor alone in both groups after ${failover} ms (session timeout ${session}), committing again ${Date.now() - killed} ms after the kill`);
        const replacement = run.spawnForwarder(env);
        const joined = await waitForMembers(2 * WORKERS_PER_FORWARDER, 90_000, [survivor, replacement]);
        console.log(`[rebalance] cycle ${c}/${CYCLES}: a new second forwarder joined both groups in ${joined} ms`);
        pair = [survivor, replacement];
        await sleep(3000);
      }
    } finally {
      await publisher.stop();
    }
    await run.waitForLagZero([names.dir, names.hub], LONG ? 180_000 : 90_000, pair);
    for (const p of pair) {
      const stopped = await p.stop('SIGTERM');
      assert.equal(stopped.code, 0, `exit ${stopped.code ?? stopped.signal}: ${p.output().slice(-3000)}`);
    }

    const dirReport = run.oracle.check(names.dir, await readDirStreams(dir));
    const hubReport = run.oracle.check(names.hub, await readEventHubsStreams(eh, [hubs.audit, hubs.operational]), ['audit', 'operational'], placementOf(hubs));
    printReport(dirReport);
    printReport(hubReport);
    console.log(`[rebalance] failover ${failovers.join(', ')} ms; total ${Math.round((Date.now() - started) / 1000)} s`);
    for (const r of [dirReport, hubReport]) {
      assert.equal(r.missing, 0, `${r.destination}: missing ${r.missingSample.join(', ')}`);
      assert.equal(r.unexpected, 0, `${r.destination}: records this run did not publish`);
      assert.equal(r.outOfOrder, 0, `${r.destination}: records of one resource out of order`);
    }
  });
});
