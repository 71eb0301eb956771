/**
 * Fault: bad input on the source topics, written with a raw kafkajs producer between good
 * events: random bytes, truncated Avro, an unknown writer fingerprint, valid Avro with invalid
 * field values (enum-like strings, times, a method that is not one), a category that lies
 * about the method, records larger than a destination accepts (Event Hubs double with a small
 * maximum event size), hostile resourceIds (`../`, `%2e%2e/`, trailing `.` or `/`, `\`,
 * control characters, 2,000 characters).
 * Pass: every bad record is in this run's dead-letter topic exactly once per destination that
 * reads it (not once per redelivery or per path that refused it), with a reason and code
 * header; every good record interleaved with them is delivered, in order; the forwarder still
 * answers /healthz 200. Each bad record is keyed by the resource of the good events around it,
 * so it sits between them on their partition.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Message } from 'kafkajs';
import { defaultSchemaRegistry } from '../../src/codec/schema-registry.js';
import { kindOf, type InsightEvent } from '../../src/events/types.js';
import { DEADLETTER_HEADERS } from '../../src/forwarder/dead-letter.js';
import { startEventHubsDouble, type EventHubsEndpoint } from '../../testkit/eventhubs.js';
import { readAll } from '../../testkit/kafka.js';
import { placementOf, printReport, readEventHubsStreams, readKafkaStreams } from '../helpers/oracle.js';
import { apiEventWithId, resourceIdFor, workflowEventWithId } from '../helpers/records.js';
import { getServices } from '../../testkit/services.js';
import { FaultRun, LONG, eventFor, type ForwardProcess } from './harness.js';

const EH_ENV = 'FAULT_BADINPUT_EVENTHUBS';
const MAX_EVENT_BYTES = 8192;
const ROUNDS = LONG ? 10 : 2;
const registry = defaultSchemaRegistry();

interface Bad {
  label: string;
  topic: 'audit' | 'operational';
  value: Buffer;
  /** Only destinations with this size limit refuse it. */
  oversize?: boolean;
}

const encode = (e: InsightEvent): Buffer => registry.encode(kindOf(e), e);
const withFields = (patch: Record<string, unknown>, base: InsightEvent = apiEventWithId(randomUUID())): InsightEvent => ({ ...base, ...patch } as InsightEvent);

/** One of each kind of bad record (fresh bytes each call). */
function badRecords(): Bad[] {
  const good = encode(apiEventWithId(randomUUID()));
  const rid = resourceIdFor('HOSTILE');
  const hostile = [`${rid}/../../OTHER`, `${rid}/%2e%2e/OTHER`, `${rid}.`, `${rid}/`, `${rid}\\OTHER`, `${rid}\u0000\u001b[2J`, `${rid}\n/SUBSCRIPTIONS/X`, rid + 'A'.repeat(2000 - rid.length)];
  const workflow = workflowEventWithId(randomUUID());
  return [
    { label: 'random bytes', topic: 'operational', value: randomBytes(64) },
    { label: 'random bytes behind the marker', topic: 'audit', value: Buffer.concat([Buffer.from([0xc3, 0x01]), randomBytes(40)]) },
    { label: 'truncated avro', topic: 'operational', value: good.subarray(0, Math.floor(good.length / 2)) },
    { label: 'header only', topic: 'operational', value: good.subarray(0, 10) },
    { label: 'unknown fingerprint', topic: 'operational', value: Buffer.concat([Buffer.from([0xc3, 0x01]), randomBytes(8), good.subarray(10)]) },
    { label: 'bad operationStatus', topic: 'operational', value: encode(withFields({ properties: { ...(apiEventWithId(randomUUID()) as { properties: object }).properties, operationStatus: 'Sometimes' } })) },
    { label: 'bad workflowType', topic: 'operational', value: encode({ ...workflow, properties: { ...workflow.properties, workflowType: "partial" } } as unknown as InsightEvent) },
    { label: 'bad resultType', topic: 'operational', value: encode(withFields({ resultType: 'Maybe' })) },
    { label: 'bad time', topic: 'operational', value: encode(withFields({ time: 'yesterday at noon' })) },
    { label: 'impossible date', topic: 'operational', value: encode(withFields({ time: '2026-02-30T10:00:00.0000000Z' })) },
    { label: 'method not a method', topic: 'operational', value: encode(withFields({ properties: { ...(apiEventWithId(randomUUID()) as { properties: object }).properties, method: 'get; DROP' } })) },
    { label: 'workflow name lies about its type', topic: 'operational', value: encode({ ...workflow, operationName: 'Export.TaskCompleted', properties: { ...workflow.properties, operationType: 'Ingestion' } } as InsightEvent) },
    ...hostile.map((resourceId, i) => ({ label: `hostile resourceId #${i}`, topic: 'operational' as const, value: encode(withFields({ resourceId })) })),
    {
      label: 'oversize', topic: 'operational', oversize: true,
      value: encode(withFields({ properties: { ...(apiEventWithId(randomUUID()) as { properties: object }).properties, userAgent: 'x'.repeat(MAX_EVENT_BYTES * 2) } })),
    },
  ];
}

describe('fault: bad input on the topics', { timeout: 170_000 }, () => {
  let run: FaultRun;
  let eh: EventHubsEndpoint;
  let forwarder: ForwardProcess;
  const names = { hub: '', mirror: '' };
  const hubs = { audit: '', operational: '' };
  const targets = { audit: '', operational: '' };

  before(async () => {
    run = new FaultRun('badinput', { brokers: (await getServices()).kafkaBrokers });
    await run.setup();
    eh = await startEventHubsDouble({ partitions: 2, maxMessageSize: MAX_EVENT_BYTES });
    names.hub = run.name('hub');
    names.mirror = run.name('mirror');
    Object.assign(hubs, { audit: run.name('hub-audit'), operational: run.name('hub-operational') });
    await eh.createHubs(Object.values(hubs));
    Object.assign(targets, { audit: run.name('mirror-audit', true), operational: run.name('mirror-operational', true) });
    await run.addDestinations([
      { name: names.hub, type: 'eventhubs', connectionStringEnv: EH_ENV, hubs },
      // Operational only: it reads the operational topic and must not silently skip what it cannot take.
      { name: names.mirror, type: 'kafka', categories: ['operational'], brokers: run.brokers, topics: targets },
    ]);
    forwarder = run.spawnForwarder({ [EH_ENV]: eh.connectionString() });
  });

  after(async () => {
    await run?.cleanup();
    await eh?.stop();
  });

  test('every bad record is dead-lettered with a reason, every good one delivered, the forwarder stays healthy', async () => {
    const bad: Bad[] = [];
    const lies: InsightEvent[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const byTopic = { audit: [] as Message[], operational: [] as Message[] };
      const good: InsightEvent[] = [];
      for (const b of badRecords()) {
        // A good event on each side of every bad one; the bad one is keyed by their resource,
        // so on a topic they share it lands between them on the same partition.
        const around = [eventFor(good.length), eventFor(good.length + 1)];
        for (const e of around) {
          good.push(e);
          byTopic[e.category === 'Audit' ? 'audit' : 'operational'].push({ key: e.resourceId, value: encode(e) });
        }
        byTopic[b.topic].push({ key: around[0]!.resourceId, value: b.value });
        bad.push(b);
      }
      // A DELETE that claims to be Operational, on the operational topic: the category is
      // recomputed (Audit). Delivered as Audit where audit is taken; never silently skipped.
      const lie = { ...apiEventWithId(randomUUID(), { audit: true }), category: 'Operational', properties: { ...(apiEventWithId(randomUUID(), { audit: true }) as { properties: object }).properties, method: 'DELETE' } } as InsightEvent;
      byTopic.operational.push({ key: lie.resourceId, value: encode(lie) });
      lies.push(lie);
      await run.sendRaw([{ topic: run.topics.audit, messages: byTopic.audit }, { topic: run.topics.operational, messages: byTopic.operational }], [...good, { ...lie, category: 'Audit' } as InsightEvent]);
    }
    await forwarder.metricsPort;
    await run.waitForLagZero([names.hub, names.mirror], 90_000, [forwarder]);

    const health = await forwarder.healthz();
    assert.equal(health.status, 200, `healthz: ${health.body}`);
    assert.equal(forwarder.child.exitCode, null, 'the forwarder is still running');

    const dead = await readAll(run.brokers, run.topics.deadLetter, { timeoutMs: 30_000 });
    const header = (m: (typeof dead)[number], h: string): string => String(m.headers[h] ?? '');
    const lettered = (destination: string) => dead.filter((m) => header(m, DEADLETTER_HEADERS.destination) === destination);
    for (const m of dead) {
      assert.ok(header(m, DEADLETTER_HEADERS.reason).length > 0, 'every dead letter says why');
      assert.ok(header(m, DEADLETTER_HEADERS.code).length > 0, 'every dead letter has a code');
    }
    const codes = new Map<string, number>();
    for (const m of dead) codes.set(header(m, DEADLETTER_HEADERS.code), (codes.get(header(m, DEADLETTER_HEADERS.code)) ?? 0) + 1);
    console.log(`[bad-input] ${bad.length} bad records + ${lies.length} category lies published; dead letters by code: ${JSON.stringify(Object.fromEntries(codes))}`);

    // How often each value is there, against how often it was published (a few bad values, such
    // as "header only", are the same bytes every round): exactly once per bad record and destination.
    const countValues = (values: Buffer[]): Map<string, number> => {
      const counts = new Map<string, number>();
      for (const v of values) counts.set(v.toString('base64'), (counts.get(v.toString('base64')) ?? 0) + 1);
      return counts;
    };
    const hubLetters = countValues(lettered(names.hub).map((m) => m.value!));
    const mirrorLetters = countValues(lettered(names.mirror).map((m) => m.value!));
    const hubExpected = countValues(bad.map((b) => b.value));
    // The mirror reads only the operational topic and has no small size limit; the operational-only
    // destination cannot take an audit record it finds on its topic: dead-lettered, not skipped.
    const mirrorExpected = countValues([...bad.filter((b) => b.topic === 'operational' && !b.oversize).map((b) => b.value), ...lies.map((lie) => encode(lie))]);
    for (const b of bad) {
      const v = b.value.toString('base64');
      assert.equal(hubLetters.get(v) ?? 0, hubExpected.get(v), `${names.hub}: "${b.label}" dead-lettered ${hubLetters.get(v) ?? 0} times, published ${hubExpected.get(v)} times`);
    }
    for (const [v, n] of mirrorExpected) assert.equal(mirrorLetters.get(v) ?? 0, n, `${names.mirror}: a record dead-lettered ${mirrorLetters.get(v) ?? 0} times, expected ${n}`);
    assert.equal(lettered(names.hub).length, bad.length, `${names.hub}: dead letters besides the bad records`);
    assert.equal(lettered(names.mirror).length, [...mirrorExpected.values()].reduce((a, b) => a + b, 0), `${names.mirror}: dead letters besides the bad records`);
    const oversize = lettered(names.hub).filter((m) => header(m, DEADLETTER_HEADERS.code) === 'RECORD_TOO_LARGE');
    assert.equal(oversize.length, bad.filter((b) => b.oversize).length, 'oversize records dead-lettered as RECORD_TOO_LARGE');

    const hubReport = run.oracle.check(names.hub, await readEventHubsStreams(eh, [hubs.audit, hubs.operational]), ['audit', 'operational'], placementOf(hubs));
    const mirrorReport = run.oracle.check(names.mirror, await readKafkaStreams(run.brokers, [targets.audit, targets.operational]), ['operational'], placementOf(targets));
    printReport(hubReport);
    printReport(mirrorReport);
    for (const r of [hubReport, mirrorReport]) {
      assert.equal(r.missing, 0, `${r.destination}: good records missing: ${r.missingSample.join(', ')}`);
      // The oversize records are valid events: too large only for the Event Hubs double, so the Kafka mirror delivers them.
      const expectedExtra = r === mirrorReport ? bad.filter((b) => b.oversize).length : 0;
      assert.equal(r.unexpected, expectedExtra, `${r.destination}: bad records were delivered: ${r.unexpectedSample.join('\n')}`);
      assert.equal(r.outOfOrder, 0);
    }
  });
});
