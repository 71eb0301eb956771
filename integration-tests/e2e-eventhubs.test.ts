/**
 * End to end: events published to Kafka go through the Forwarder to an `eventhubs`
 * destination (the Event Hubs TEST DOUBLE, credentials referenced by environment variable
 * name) and are read back with EventHubConsumerClient. Dropping every AMQP connection
 * mid-run loses nothing. Prints the Kafka → Event Hubs (double) throughput.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { parseDestination } from '../src/config/destinations.js';
import { DestinationStore } from '../src/destinations/store.js';
import { Forwarder } from '../src/forwarder/forwarder.js';
import { createKafka, kafkaSettingsFromEnv } from '../src/kafka/client.js';
import { startEventHubsDouble, type EventHubsEndpoint } from '../testkit/eventhubs.js';
import { createTopics, deleteTopics, kafkaClient, publishEvents, uniqueName } from '../testkit/kafka.js';
import { apiEventWithId, idOf, workflowEventWithId } from './helpers/records.js';
import { getServices } from '../testkit/services.js';

const ENV_NAME = 'INSIGHT_LOGS_E2E_EVENTHUBS_CS';
/** Events for the throughput run (EVENTHUBS_E2E_EVENTS to change). */
const THROUGHPUT_EVENTS = Number(process.env.EVENTHUBS_E2E_EVENTS || 20_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** Audit (POST) and operational (GET + workflow) events over four instances; returns their ids. */
async function publishMix(brokers: string[], topics: { audit: string; operational: string }, n: number) {
  const audit = Array.from({ length: n }, () => randomUUID());
  const operational = Array.from({ length: n }, () => randomUUID());
  await Promise.all([
    publishEvents(brokers, topics.audit, audit.map((id, i) => apiEventWithId(id, { audit: true, instance: `INST-${i % 4}` }))),
    publishEvents(brokers, topics.operational, operational.map((id, i) => (i % 2 ? workflowEventWithId(id, { instance: `INST-${i % 4}` }) : apiEventWithId(id, { audit: false, instance: `INST-${i % 4}` })))),
  ]);
  return { audit, operational };
}

async function topicsTotal(brokers: string[], names: string[]): Promise<number> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    let n = 0;
    for (const t of names) n += (await admin.fetchTopicOffsets(t)).reduce((sum, o) => sum + Number(o.high), 0);
    return n;
  } finally {
    await admin.disconnect();
  }
}

describe('Kafka → Forwarder → Event Hubs (test double)', { timeout: 300_000 }, () => {
  let eh: EventHubsEndpoint;
  let brokers: string[];
  let forwarder: Forwarder;
  let store: DestinationStore;
  const id = uniqueName('e2e-eh');
  const topics = { audit: `${id}-audit`, operational: `${id}-operational` };
  const deadLetterTopic = `${id}-deadletter`;
  const destinationsTopic = `${id}-destinations`;

  async function hubIds(hub: string, minEvents = 0): Promise<string[]> {
    const events = await eh.readAll(hub, { minEvents, timeoutMs: 60_000 });
    return events.flatMap((e) => (e.body as { records: Record<string, unknown>[] }).records.map((r) => idOf(r)!));
  }

  async function addDestination(name: string, hubs: { audit: string; operational: string }): Promise<void> {
    await eh.createHubs(Object.values(hubs));
    await store.apply([parseDestination({ name, type: 'eventhubs', connectionStringEnv: ENV_NAME, hubs }, 'd')]);
  }

  before(async () => {
    const services = await getServices();
    brokers = services.kafkaBrokers;
    eh = await startEventHubsDouble({ partitions: 2 });
    await createTopics(brokers, [topics.audit, topics.operational], 3);
    const kafka = kafkaSettingsFromEnv({ KAFKA_BROKERS: brokers.join(',') });
    store = new DestinationStore({ kafka: createKafka(kafka), topic: destinationsTopic });
    forwarder = new Forwarder({
      kafka,
      topics,
      destinationsTopic,
      deadLetterTopic,
      env: { [ENV_NAME]: eh.connectionString() },
      retry: { initialDelayMs: 100, maxDelayMs: 1000 },
      lagIntervalMs: 2000,
    });
    await forwarder.start();
  });

  after(async () => {
    await forwarder?.stop();
    await store?.close();
    await eh?.stop();
    if (brokers) await deleteTopics(brokers, [topics.audit, topics.operational, deadLetterTopic, destinationsTopic]);
  });

  test('every record arrives in its category hub; dropping connections mid-run loses nothing', async () => {
    const name = uniqueName('eh').toLowerCase();
    const hubs = { audit: uniqueName('e2e-audit'), operational: uniqueName('e2e-oper') };
    await addDestination(name, hubs);
    await forwarder.waitUntilReady(60_000);
    const first = await publishMix(brokers, topics, 500);
    await sleep(300);
    let dropped = await eh.dropConnections();
    const second = await publishMix(brokers, topics, 500);
    dropped += await eh.dropConnections();
    await sleep(500);
    dropped += await eh.dropConnections();
    assert.ok(dropped > 0, 'the forwarder had live connections to drop');
    const audit = [...first.audit, ...second.audit];
    const operational = [...first.operational, ...second.operational];
    const deadline = Date.now() + 90_000;
    while ((forwarder.pipelineStats(name)?.delivered ?? 0) < 2000 && Date.now() < deadline) await sleep(250);
    const gotAudit = new Set(await hubIds(hubs.audit));
    const gotOperational = new Set(await hubIds(hubs.operational));
    assert.equal(audit.filter((i) => !gotAudit.has(i)).length, 0, 'audit records missing from the audit hub');
    assert.equal(operational.filter((i) => !gotOperational.has(i)).length, 0, 'operational records missing from the operational hub');
    assert.equal(operational.filter((i) => gotAudit.has(i)).length, 0, 'operational records in the audit hub');
    assert.equal(forwarder.pipelineStats(name)!.deadLettered, 0);
  });

  test(`throughput: ${THROUGHPUT_EVENTS} events Kafka → Event Hubs (double)`, async () => {
    const half = Math.floor(THROUGHPUT_EVENTS / 2);
    const name = uniqueName('ehtp').toLowerCase();
    const hubs = { audit: uniqueName('tp-audit'), operational: uniqueName('tp-oper') };
    // The backlog is in Kafka first: the figure is the forwarder's, not the publisher's.
    const published = await publishMix(brokers, topics, half);
    // A new destination starts at the beginning of the topics: everything in them is its backlog.
    const backlog = await topicsTotal(brokers, [topics.audit, topics.operational]);
    const started = performance.now();
    await addDestination(name, hubs);
    const deadline = Date.now() + 180_000;
    let delivered = 0;
    while (Date.now() < deadline) {
      delivered = forwarder.pipelineStats(name)?.delivered ?? 0;
      if (delivered >= backlog) break;
      await sleep(100);
    }
    const seconds = (performance.now() - started) / 1000;
    const perSecond = Math.round(delivered / seconds);
    console.log(`eventhubs e2e throughput: ${delivered} records Kafka → Forwarder → Event Hubs (test double) in ${seconds.toFixed(1)} s = ${perSecond} records/s`);
    assert.ok(delivered >= backlog, `only ${delivered} of ${backlog} delivered in time`);
    const gotAudit = new Set(await hubIds(hubs.audit));
    assert.equal(published.audit.filter((i) => !gotAudit.has(i)).length, 0);
    const gotOperational = new Set(await hubIds(hubs.operational));
    assert.equal(published.operational.filter((i) => !gotOperational.has(i)).length, 0);
  });
});
