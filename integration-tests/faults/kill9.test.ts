/**
 * Fault: `kill -9` of a spawned `insight-logs forward` at random points while events keep
 * arriving, several times in one run (3 short / 10 with FAULTS_LONG=1), restarting each time.
 * Destinations: Kafka exactly-once (another topic pair on the same broker) and Event Hubs
 * (the test double). Pass: nothing missing anywhere, no duplicate on the exactly-once Kafka
 * destination, no resource's records out of order on it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEventHubsDouble, type EventHubsEndpoint } from '../../testkit/eventhubs.js';
import { placementOf, printReport, readEventHubsStreams, readKafkaStreams } from '../helpers/oracle.js';
import { getServices } from '../../testkit/services.js';
import { FaultRun, LONG, random, sleep, type ForwardProcess } from './harness.js';

const KILLS = LONG ? 10 : 3;
const RATE = LONG ? 600 : 300;
const EH_ENV = 'FAULT_KILL9_EVENTHUBS';

describe('fault: kill -9 of the forwarder at random points', { timeout: LONG ? 900_000 : 170_000 }, () => {
  let run: FaultRun;
  let eh: EventHubsEndpoint;
  const names = { mirror: '', hub: '' };
  const targets = { audit: '', operational: '' };
  const hubs = { audit: '', operational: '' };

  before(async () => {
    run = new FaultRun('kill9', { brokers: (await getServices()).kafkaBrokers });
    await run.setup();
    eh = await startEventHubsDouble({ partitions: 2 });
    names.mirror = run.name('mirror');
    names.hub = run.name('hub');
    Object.assign(targets, { audit: run.name('mirror-audit', true), operational: run.name('mirror-operational', true) });
    Object.assign(hubs, { audit: run.name('hub-audit'), operational: run.name('hub-operational') });
    await eh.createHubs(Object.values(hubs));
    await run.addDestinations([
      { name: names.mirror, type: 'kafka', brokers: run.brokers, topics: targets, exactlyOnce: true },
      { name: names.hub, type: 'eventhubs', connectionStringEnv: EH_ENV, hubs },
    ]);
  });

  after(async () => {
    await run?.cleanup();
    await eh?.stop();
  });

  test(`${KILLS} × kill -9 mid-stream: nothing lost, Kafka exactly-once has no duplicates`, async () => {
    const env = { [EH_ENV]: eh.connectionString() };
    await run.publish(500);
    const publisher = run.publishContinuously(RATE);
    let forwarder: ForwardProcess = run.spawnForwarder(env);
    try {
      for (let k = 1; k <= KILLS; k++) {
        // Random points of two kinds: mid-stream (after this process committed something, a
        // chunk is likely in flight) and early (connecting, joining the group, fencing).
        const midStream = k % 2 === 1;
        const before = await run.committed(names.mirror);
        if (midStream) await run.waitForProgress(names.mirror, before, 120_000, forwarder);
        const after = Math.round(midStream ? random(0, 600) : random(300, 5000));
        await sleep(after);
        const committed = await run.committed(names.mirror);
        const result = await forwarder.stop('SIGKILL');
        assert.equal(result.signal, 'SIGKILL');
        console.log(`[kill9] kill ${k}/${KILLS} (${midStream ? `mid-stream, ${after} ms after progress` : `${after} ms after spawn`}): mirror group had committed ${committed} of ${run.oracle.publishedCount} published`);
        forwarder = run.spawnForwarder(env);
      }
    } finally {
      await publisher.stop();
    }
    await run.waitForLagZero([names.mirror, names.hub], LONG ? 300_000 : 90_000, [forwarder]);
    await forwarder.metricsPort;
    const stopped = await forwarder.stop('SIGTERM');
    assert.equal(stopped.code, 0, `exit ${stopped.code ?? stopped.signal}: ${forwarder.output().slice(-3000)}`);

    const kafkaReport = run.oracle.check(names.mirror, await readKafkaStreams(run.brokers, [targets.audit, targets.operational]), ['audit', 'operational'], placementOf(targets));
    const hubReport = run.oracle.check(names.hub, await readEventHubsStreams(eh, [hubs.audit, hubs.operational]), ['audit', 'operational'], placementOf(hubs));
    printReport(kafkaReport);
    printReport(hubReport);
    for (const r of [kafkaReport, hubReport]) {
      assert.equal(r.missing, 0, `${r.destination}: missing ${r.missingSample.join(', ')}`);
      assert.equal(r.unexpected, 0, `${r.destination}: records this run did not publish`);
    }
    assert.equal(kafkaReport.duplicated, 0, 'exactly-once Kafka destination: no duplicates');
    assert.equal(kafkaReport.outOfOrder, 0, 'Kafka destination: every resource in publish order');
    assert.equal(hubReport.outOfOrder, 0, 'Event Hubs destination: every resource in publish order');
  });
});
