/**
 * Fault: /healthz and /readyz of the real `forward` (default worker count: one per core, at
 * most the 3 source partitions, so the primary serves health aggregated over its workers)
 * turning unhealthy and back, with real causes only:
 *
 * - not joined yet: a foreign member of `other`'s consumer group (same assigner) sits in a
 *   batch handler and so never rejoins; the broker holds the forwarder's JoinGroup until it
 *   leaves. /readyz 503 with /healthz 200 meanwhile, both 200 once it left.
 * - crashed for good: a foreign member whose partition assigner has another protocol name
 *   holds `crashy`'s group before `crashy` is added; the broker answers the forwarder's
 *   JoinGroup with INCONSISTENT_GROUP_PROTOCOL, which kafkajs does not retry (CRASH with
 *   restart=false). /healthz and /readyz 503 naming it crashed, the crash counted in /metrics
 *   and logged; once the foreign member left, the pipeline restarts by itself within its
 *   backoff (2^crashes s) and both endpoints are 200 again.
 * - crashed 3 times within 5 minutes (`flaky`, held through two restarts): /healthz stays 503
 *   by design even after the pipeline is back and delivering.
 * - broken: a blob destination whose connection-string variable is not set; /healthz 503
 *   naming it broken while the others deliver; fixed (pointed at a variable that is set) →
 *   200, and it delivers everything.
 *
 * Events are published before, during and after all of it; the oracle checks every
 * destination at the end (missing, unexpected, misplaced, altered, out of order: 0).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { AssignerProtocol, type Consumer, type PartitionAssigner } from 'kafkajs';
import { groupIdFor } from '../../src/forwarder/pipeline.js';
import { scrapeForwarderMetrics } from '../../src/ops/metrics-scrape.js';
import { withTimeout } from '../../src/util/time.js';
import { freePort, getServices } from '../../testkit/services.js';
import { placementOf, printReport, readBlobStreams, readDirStreams, type OracleReport } from '../helpers/oracle.js';
import { FaultRun, sleep, type ForwardProcess } from './harness.js';

const RATE = 100;
/** The forwarder's env names the blob secret's variable; the broken config names one that is not set. */
const BLOB_ENV = 'HEALTH_FAULT_BLOB_CS';
const MISSING_ENV = 'HEALTH_FAULT_UNSET_CS';
const UNHEALTHY_AFTER_CRASHES = 3; // forwarder.ts: 3 crashes in 5 minutes keep /healthz at 503 for 5 minutes

interface Probe { status: number; body: { detail?: Record<string, unknown> } & Record<string, unknown>; text: string }
/** One destination's entry in a health report, and the worker that reported it (-1 without workers). */
interface Entry { worker: number; state?: string; joined?: boolean; crashes?: number; problem?: string }

/**
 * Every worker's entry for `destination`: the primary (`--workers` > 1) nests each worker's
 * report under `worker-<i>`, a single forwarder reports its destinations directly.
 */
function entriesOf(body: Probe['body'], destination: string): Entry[] {
  const detail = body.detail ?? {};
  const workers = Object.entries(detail).filter(([k]) => k.startsWith('worker-'));
  if (workers.length === 0) return detail[destination] ? [{ worker: -1, ...(detail[destination] as object) }] : [];
  return workers.flatMap(([k, report]) => {
    const e = (report as { detail?: Record<string, unknown> } | string | undefined);
    const d = typeof e === 'object' ? e.detail?.[destination] : undefined;
    return d ? [{ worker: Number(k.slice('worker-'.length)), ...(d as object) }] : [];
  });
}

/** A kafkajs assigner under another protocol name that assigns nothing (the member reads and commits nothing). */
const ForeignAssigner: PartitionAssigner = () => ({
  name: 'ForeignAssigner',
  version: 1,
  async assign({ members }) {
    return members.map((m) => ({ memberId: m.memberId, memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: {}, userData: Buffer.alloc(0) }) }));
  },
  protocol({ topics }) {
    return { name: 'ForeignAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
  },
});

describe('fault: /healthz and /readyz turn unhealthy and back', { timeout: 170_000 }, () => {
  let run: FaultRun;
  let forwarder: ForwardProcess;
  let port: number;
  let storage: string;
  let publisher: ReturnType<FaultRun['publishContinuously']> | undefined;
  const foreign: Consumer[] = [];
  const dirs = { other: '', crashy: '', flaky: '' };
  const names = { other: '', crashy: '', flaky: '', archive: '' };
  let containers: { audit: string; operational: string };
  const started = Date.now();

  const probe = async (what: '/healthz' | '/readyz'): Promise<Probe> => {
    const res = await fetch(`http://127.0.0.1:${port}${what}`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text) as Probe['body'], text };
  };
  /** Polls both endpoints every 100 ms until `done` holds; every sample goes to `seen`. */
  const until = async (what: string, timeoutMs: number, done: (h: Probe, r: Probe) => boolean, seen?: (h: Probe, r: Probe) => void): Promise<{ h: Probe; r: Probe; ms: number }> => {
    const t0 = Date.now();
    let last = '';
    for (;;) {
      if (forwarder.child.exitCode !== null) throw new Error(`forwarder exited:\n${forwarder.output().slice(-4000)}`);
      const h = await probe('/healthz').catch(() => undefined);
      const r = await probe('/readyz').catch(() => undefined);
      if (h && r) {
        seen?.(h, r);
        if (done(h, r)) return { h, r, ms: Date.now() - t0 };
        last = `healthz ${h.status} ${h.text}readyz ${r.status} ${r.text}`;
      }
      if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms; last:\n${last}\n${forwarder.output().slice(-3000)}`);
      await sleep(100);
    }
  };
  /** A member of `destination`'s group under ForeignAssigner, joined before the destination exists. */
  const holdWithForeignProtocol = async (destination: string): Promise<Consumer> => {
    // Short fetch waits: with nothing assigned its loop idles in them, and a disconnect waits one out.
    const holder = run.kafka.consumer({ groupId: groupIdFor(destination), partitionAssigners: [ForeignAssigner], maxWaitTimeInMs: 100 });
    foreign.push(holder);
    const holding = new Promise<void>((resolve) => holder.on(holder.events.GROUP_JOIN, () => resolve()));
    await holder.connect();
    await holder.subscribe({ topics: [run.topics.audit, run.topics.operational] });
    await holder.run({ autoCommit: false, eachMessage: async () => undefined });
    await withTimeout(holding, 30_000, () => new Error('the foreign member did not join'));
    return holder;
  };
  const allJoined = (p: Probe, destination: string): boolean => {
    const e = entriesOf(p.body, destination);
    return e.length > 0 && e.every((x) => x.joined === true && x.state === 'running');
  };
  /**
   * Running, joined or not: "the others unaffected" means never crashed and still committing
   * (a group of 2 workers on 2 busy shared cores may rebalance now and then, which /readyz
   * rightly reports; that is not the fault under test).
   */
  const allRunning = (p: Probe, destination: string): boolean => {
    const e = entriesOf(p.body, destination);
    return e.length > 0 && e.every((x) => x.state === 'running');
  };

  before(async () => {
    const services = await getServices();
    storage = services.storageConnectionString;
    run = new FaultRun('health', { brokers: services.kafkaBrokers });
    await run.setup();
    for (const k of ['other', 'crashy', 'flaky'] as const) {
      dirs[k] = await mkdtemp(path.join(os.tmpdir(), `fault-health-${k}-`));
      names[k] = run.name(k);
    }
    names.archive = run.name('archive');
    containers = { audit: run.name('ba'), operational: run.name('bo') };
    await run.publish(300);
  });

  after(async () => {
    await publisher?.stop().catch(() => undefined);
    for (const c of foreign) await c.disconnect().catch(() => undefined);
    await run?.cleanup();
    for (const d of Object.values(dirs)) if (d) await rm(d, { recursive: true, force: true });
    if (containers) {
      const blob = BlobServiceClient.fromConnectionString(storage);
      for (const c of Object.values(containers)) await blob.getContainerClient(c).deleteIfExists().catch(() => undefined);
    }
  });

  test('/readyz is 503 until every pipeline joined its group (/healthz 200 meanwhile), then 200', async () => {
    // A member of other's group that stays inside its batch handler never rejoins, so the
    // broker holds every new member's JoinGroup until the member's session or the group's
    // rebalance timeout ends: long ones, as 2 busy shared cores took up to 16 s to start forward.
    const blocker = run.kafka.consumer({ groupId: groupIdFor(names.other), sessionTimeout: 90_000, rebalanceTimeout: 120_000 });
    foreign.push(blocker);
    let inHandler!: () => void;
    const entered = new Promise<void>((resolve) => { inHandler = resolve; });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    await blocker.connect();
    await blocker.subscribe({ topics: [run.topics.audit, run.topics.operational], fromBeginning: true });
    await blocker.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => { inHandler(); await gate; } });
    await withTimeout(entered, 30_000, () => new Error('the blocking member got no batch'));

    await run.addDestinations([{ name: names.other, type: 'dir', path: dirs.other }]);
    port = await freePort();
    forwarder = run.spawnForwarder({ [BLOB_ENV]: storage }, ['--metrics-port', String(port)]);
    publisher = run.publishContinuously(RATE);

    // Not joined: /readyz 503 naming other not joined, /healthz 200, for 3 s in a row.
    const first = await until('other pipeline seen not joined', 30_000, (h, r) => h.status === 200 && r.status === 503 && entriesOf(r.body, names.other).some((e) => e.joined === false));
    const heldSince = Date.now();
    while (Date.now() - heldSince < 3000) {
      const [h, r] = [await probe('/healthz'), await probe('/readyz')];
      assert.equal(h.status, 200, `healthz while a pipeline waits to join: ${h.text}`);
      assert.equal(r.status, 503, `readyz while a pipeline waits to join: ${r.text}`);
      await sleep(200);
    }
    console.log(`[health] not joined: readyz 503 / healthz 200 seen ${first.ms} ms after the spawn and for 3 s after (${Object.keys(first.r.body.detail ?? {}).length} reports)`);

    // Disconnect first, then let the handler return: released the other way round, the blocker
    // would rejoin once more before leaving (one more rebalance of other's group, later).
    const leaving = blocker.disconnect();
    release();
    await leaving;
    const joined = await until('ready after the foreign member left', 30_000, (h, r) => h.status === 200 && r.status === 200);
    assert.ok(allJoined(joined.r, names.other), `readyz 200 without other joined everywhere: ${joined.r.text}`);
    console.log(`[health] foreign member left: readyz 200 after ${joined.ms} ms; ${entriesOf(joined.r.body, names.other).length} pipeline(s) of other joined`);
    await forwarder.metricsPort; // the "forwarding to … metrics on" line comes once started
    const workers = /with (\d+) workers/.exec(forwarder.output())?.[1];
    console.log(`[health] forward runs ${workers ? `${workers} workers under a primary` : 'as one process'} (default worker count)`);
  });

  test('a pipeline that crashes for good: 503 naming it, counted, logged; restarts by itself within its backoff, 200 again', async () => {
    // The foreign member holds crashy's group with another protocol before crashy exists.
    const holder = await holdWithForeignProtocol(names.crashy);

    await run.addDestinations([{ name: names.crashy, type: 'dir', path: dirs.crashy }]);
    const crashed = await until('crashy seen crashed', 30_000, (h) => h.status === 503 && entriesOf(h.body, names.crashy).some((e) => e.state === 'crashed'));
    const crashedAt = Date.now();
    // Released at once (the checks below read what stays: counters, logs, the 503 just seen),
    // so that crashy's restarts stay under the 3 that keep /healthz at 503 for 5 minutes.
    const leaving = holder.disconnect();
    assert.match(crashed.h.text, /INCONSISTENT_GROUP_PROTOCOL|incompatible/i, 'healthz names the cause');
    assert.equal(crashed.r.status, 503, `readyz with a crashed pipeline: ${crashed.r.text}`);
    assert.ok(allRunning(crashed.h, names.other), `other while crashy crashed: ${crashed.h.text}`);
    const metrics = await scrapeForwarderMetrics(`http://127.0.0.1:${port}/metrics`);
    const crashesCounted = metrics.get(names.crashy)?.crashes ?? 0;
    assert.ok(crashesCounted >= 1, `insight_logs_pipeline_crashes_total for crashy: ${crashesCounted}`);
    const logged = forwarder.output().split('\n').filter((l) => l.includes('pipeline crashed; restarting') && l.includes(names.crashy));
    assert.ok(logged.length >= 1, `no "pipeline crashed; restarting" line for crashy:\n${forwarder.output().slice(-3000)}`);
    // The others go on meanwhile (checked while crashy is down and coming back).
    const otherProgress = run.waitForProgress(names.other, await run.committed(names.other), 15_000, forwarder);
    await leaving;
    const released = Date.now();
    // Until it has rejoined, no 200 from /readyz may leave crashy out or count it joined too early.
    const earlyReady: string[] = [];
    const otherTroubled: string[] = [];
    const back = await until('crashy restarted and joined', 60_000,
      (h, r) => h.status === 200 && r.status === 200 && allJoined(r, names.crashy),
      (h, r) => {
        if (r.status === 200 && !allJoined(r, names.crashy)) earlyReady.push(r.text);
        if (!allRunning(h, names.other)) otherTroubled.push(h.text);
      });
    await otherProgress;
    assert.deepEqual(otherTroubled, [], 'other not running while crashy crashed and restarted');
    const crashes = entriesOf(back.h.body, names.crashy).map((e) => e.crashes ?? 0);
    const maxCrashes = Math.max(...crashes);
    // The last restart comes at most 2^crashes s after the last crash (forwarder.ts).
    const backoffMs = 1000 * 2 ** maxCrashes;
    console.log(`[health] crashy: 503 (crashed) ${crashed.ms} ms after it was added; ${crashesCounted} crash(es) counted at first scrape, ${logged.length} log line(s); released ${released - crashedAt} ms after the 503; 200 again ${back.ms} ms after the release; recent crashes per pipeline ${crashes.join('/')}`);
    assert.deepEqual(earlyReady, [], 'readyz 200 while crashy was not joined');
    assert.ok(maxCrashes >= 1 && maxCrashes < UNHEALTHY_AFTER_CRASHES, `recent crashes ${crashes.join('/')}`);
    assert.ok(back.ms <= backoffMs + 15_000, `back after ${back.ms} ms, backoff ${backoffMs} ms`);
    await run.waitForProgress(names.crashy, 0, 30_000, forwarder);
  });

  test('a broken destination: 503 naming it while the others deliver; fixed → 200', async () => {
    const blob = { name: names.archive, type: 'blob', containers };
    await run.addDestinations([{ ...blob, connectionStringEnv: MISSING_ENV }]);
    const broken = await until('archive seen broken', 30_000, (h) => h.status === 503 && entriesOf(h.body, names.archive).some((e) => e.state === 'broken'));
    assert.ok(entriesOf(broken.h.body, names.archive).every((e) => e.state === 'broken' && e.problem?.includes(MISSING_ENV)), `broken entries: ${broken.h.text}`);
    for (const d of [names.other, names.crashy]) {
      assert.ok(allRunning(broken.h, d), `${d} while archive is broken: ${broken.h.text}`);
      await run.waitForProgress(d, await run.committed(d), 15_000, forwarder);
    }
    const metrics = await scrapeForwarderMetrics(`http://127.0.0.1:${port}/metrics`);
    assert.ok((metrics.get(names.archive)?.pipelines?.broken ?? 0) >= 1, `insight_logs_pipelines{state="broken"} for archive: ${JSON.stringify(metrics.get(names.archive))}`);

    await run.addDestinations([{ ...blob, connectionStringEnv: BLOB_ENV }]);
    const fixed = await until('archive fixed', 30_000, (h, r) => h.status === 200 && r.status === 200 && allJoined(r, names.archive));
    console.log(`[health] archive: 503 (broken) ${broken.ms} ms after it was added; 200 ${fixed.ms} ms after the fix`);
  });

  test(`${UNHEALTHY_AFTER_CRASHES} crashes within 5 minutes: /healthz stays 503 after the pipeline is back (by design), and it delivers`, async () => {
    const holder = await holdWithForeignProtocol(names.flaky);
    await run.addDestinations([{ name: names.flaky, type: 'dir', path: dirs.flaky }]);
    // Restarts after 2 s and 4 s meet the holder again: the third crash comes ~6 s after the first.
    const third = await until(`flaky crashed ${UNHEALTHY_AFTER_CRASHES} times`, 60_000, (h) => {
      const e = entriesOf(h.body, names.flaky);
      return e.length > 0 && e.every((x) => (x.crashes ?? 0) >= UNHEALTHY_AFTER_CRASHES);
    });
    const leaving = Date.now();
    await holder.disconnect();
    const left = Date.now() - leaving;
    // The next restart comes 2^3 s after the third crash and finds the group free.
    const back = await until('flaky joined again', 60_000, (_h, r) => allJoined(r, names.flaky));
    const entries = entriesOf(back.h.body, names.flaky);
    console.log(`[health] flaky: ${UNHEALTHY_AFTER_CRASHES} crashes ${third.ms} ms after it was added; joined again ${back.ms} ms after the release (the holder's disconnect took ${left} ms); healthz ${back.h.status}, readyz ${back.r.status}; recent crashes ${entries.map((e) => e.crashes).join('/')}`);
    assert.equal(back.h.status, 503, `healthz after ${UNHEALTHY_AFTER_CRASHES} recent crashes: ${back.h.text}`);
    assert.equal(back.r.status, 503, `readyz after ${UNHEALTHY_AFTER_CRASHES} recent crashes: ${back.r.text}`);
    assert.ok(entries.every((e) => e.state === 'running' && (e.crashes ?? 0) >= UNHEALTHY_AFTER_CRASHES), JSON.stringify(entries));
    for (const d of [names.other, names.crashy, names.archive]) assert.ok(allRunning(back.h, d), `${d} during flaky's crashes: ${back.h.text}`);
    const counted = (await scrapeForwarderMetrics(`http://127.0.0.1:${port}/metrics`)).get(names.flaky)?.crashes ?? 0;
    assert.ok(counted >= UNHEALTHY_AFTER_CRASHES * entries.length, `insight_logs_pipeline_crashes_total for flaky: ${counted}`);
    await run.waitForProgress(names.flaky, 0, 30_000, forwarder);
  });

  test('every destination got every event published before, during and after the faults', async () => {
    await run.publish(300);
    const acknowledged = await publisher!.stop();
    publisher = undefined;
    const all = [names.other, names.crashy, names.archive, names.flaky];
    await run.waitForLagZero(all, 90_000, [forwarder]);
    // Still 503 for flaky's recent crashes (previous test); nothing crashed or broken now.
    const h = await probe('/healthz');
    for (const d of all) assert.ok(allRunning(h, d), `${d} at the end: ${h.text}`);
    const stopped = await forwarder.stop('SIGTERM');
    assert.equal(stopped.code, 0, `exit ${stopped.code ?? stopped.signal}: ${forwarder.output().slice(-3000)}`);

    const reports: OracleReport[] = [
      run.oracle.check(names.other, await readDirStreams(dirs.other)),
      run.oracle.check(names.crashy, await readDirStreams(dirs.crashy)),
      run.oracle.check(names.flaky, await readDirStreams(dirs.flaky)),
      run.oracle.check(names.archive, await readBlobStreams(storage, [containers.audit, containers.operational]), ['audit', 'operational'], placementOf(containers)),
    ];
    reports.forEach(printReport);
    console.log(`[health] ${run.oracle.publishedCount} events (${acknowledged} while the faults ran); total ${Math.round((Date.now() - started) / 1000)} s`);
    for (const r of reports) {
      assert.equal(r.missing, 0, `${r.destination}: missing ${r.missingSample.join(', ')}`);
      assert.equal(r.unexpected, 0, `${r.destination}: unexpected ${r.unexpectedSample.join('\n')}`);
      assert.equal(r.misplaced, 0, `${r.destination}: misplaced ${r.misplacedSample.join('\n')}`);
      assert.equal(r.altered, 0, `${r.destination}: altered ${r.alteredSample.join('\n')}`);
      assert.equal(r.outOfOrder, 0, `${r.destination}: records of one resource out of order`);
    }
  });
});
