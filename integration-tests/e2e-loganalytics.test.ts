/**
 * End to end: events published to Kafka go through the Forwarder to a `loganalytics`
 * destination (the Logs Ingestion API TEST DOUBLE, token referenced by environment variable
 * name) and land as rows of the category's stream. Throttling and 503s injected mid-run lose
 * nothing. Read-back is the double's memory (the real service has no read API in the SDK).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { parseDestination } from '../src/config/destinations.js';
import { DestinationStore } from '../src/destinations/store.js';
import { Forwarder } from '../src/forwarder/forwarder.js';
import { createKafka, kafkaSettingsFromEnv } from '../src/kafka/client.js';
import { DEFAULT_STREAMS } from '../src/sinks/loganalytics/config.js';
import { rowToEvent } from '../src/sinks/loganalytics/request-builder.js';
import { createTopics, deleteTopics, publishEvents, uniqueName } from '../testkit/kafka.js';
import { startLogAnalyticsDouble, type LogAnalyticsDouble } from './helpers/loganalytics.js';
import type { InsightEvent } from '../src/events/types.js';
import { apiEventWithId, idOf, workflowEventWithId } from './helpers/records.js';
import { getServices } from '../testkit/services.js';

const TOKEN_ENV = 'INSIGHT_LOGS_E2E_LA_TOKEN';
const STREAMS = DEFAULT_STREAMS;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


describe('Kafka → Forwarder → Log Analytics (test double)', { timeout: 180_000 }, () => {
  let la: LogAnalyticsDouble;
  let brokers: string[];
  let forwarder: Forwarder;
  let store: DestinationStore;
  const id = uniqueName('e2e-la');
  const topics = { audit: `${id}-audit`, operational: `${id}-operational` };
  const deadLetterTopic = `${id}-deadletter`;
  const destinationsTopic = `${id}-destinations`;

  before(async () => {
    const services = await getServices();
    brokers = services.kafkaBrokers;
    la = await startLogAnalyticsDouble();
    await createTopics(brokers, [topics.audit, topics.operational], 2);
    const kafka = kafkaSettingsFromEnv({ KAFKA_BROKERS: brokers.join(',') });
    store = new DestinationStore({ kafka: createKafka(kafka), topic: destinationsTopic });
    forwarder = new Forwarder({
      kafka,
      topics,
      destinationsTopic,
      deadLetterTopic,
      env: { [TOKEN_ENV]: la.token },
      retry: { initialDelayMs: 100, maxDelayMs: 1500 },
      lagIntervalMs: 2000,
    });
    await forwarder.start();
  });

  after(async () => {
    await forwarder?.stop();
    await store?.close();
    await la?.stop();
    if (brokers) await deleteTopics(brokers, [topics.audit, topics.operational, deadLetterTopic, destinationsTopic]);
  });

  test('every record lands as a row of its category stream; throttling and 503s lose nothing', async () => {
    const ruleId = await la.addRule(Object.values(STREAMS));
    const name = uniqueName('la').toLowerCase();
    await store.apply([parseDestination({ name, type: 'loganalytics', endpoint: la.endpoint, ruleId, tokenEnv: TOKEN_ENV, allowInsecure: true }, 'd')]);
    await forwarder.waitUntilReady(60_000);

    const audit = Array.from({ length: 400 }, () => randomUUID());
    const operational = Array.from({ length: 400 }, () => randomUUID());
    const started = performance.now();
    await publishEvents(brokers, topics.audit, audit.slice(0, 200).map((i) => apiEventWithId(i, { audit: true })));
    await la.throttle(3);
    await publishEvents(brokers, topics.operational, operational.map((i, n) => (n % 2 ? workflowEventWithId(i) : apiEventWithId(i, { audit: false }))));
    await la.fail(3);
    // One audit event with a 100 KB user agent: it lands cut to 64 KB, and the metric counts it.
    const long = { ...apiEventWithId(audit[399]!, { audit: true }) } as unknown as Record<string, any>;
    long.properties = { ...long.properties, userAgent: `agent-${'u'.repeat(100_000)}` };
    await publishEvents(brokers, topics.audit, [...audit.slice(200, 399).map((i) => apiEventWithId(i, { audit: true })), long as unknown as InsightEvent]);

    const deadline = Date.now() + 90_000;
    while ((forwarder.pipelineStats(name)?.delivered ?? 0) < 800 && Date.now() < deadline) await sleep(200);
    const seconds = (performance.now() - started) / 1000;
    const stats = forwarder.pipelineStats(name)!;
    console.log(`loganalytics e2e: ${stats.delivered} records Kafka → Forwarder → Log Analytics (double) in ${seconds.toFixed(1)} s with ${stats.retries} retries`);

    const gotAudit = new Set((await la.rows(ruleId, STREAMS.audit)).map((r) => idOf(rowToEvent(r))));
    const gotOperational = new Set((await la.rows(ruleId, STREAMS.operational)).map((r) => idOf(rowToEvent(r))));
    assert.equal(audit.filter((i) => !gotAudit.has(i)).length, 0, 'audit rows missing');
    assert.equal(operational.filter((i) => !gotOperational.has(i)).length, 0, 'operational rows missing');
    assert.equal(operational.filter((i) => gotAudit.has(i)).length, 0, 'operational records in the audit stream');
    assert.equal(stats.deadLettered, 0);
    const faults = (await la.requests()).filter((r) => r.ruleId === ruleId && (r.status === 429 || r.status === 503)).length;
    assert.equal(faults, 6, 'the injected faults were met by the forwarder');
    assert.ok(stats.retries >= 1, 'faults were retried');
    // Every row carries its event's CorrelationId, and no column the template does not declare.
    const rows = [...(await la.rows(ruleId, STREAMS.audit)), ...(await la.rows(ruleId, STREAMS.operational))];
    assert.ok(rows.every((r) => typeof r.CorrelationId === 'string' && r.CorrelationId !== ''), 'a row without CorrelationId');
    await la.assertNoColumnProblems(ruleId);
    const cut = rows.find((r) => typeof r.Uri === 'string' && r.Uri.includes(audit[399]!));
    assert.match(String(cut?.UserAgent), /…\[truncated by insight-logs: 100006 bytes\]$/);
    const truncated = (await forwarder.metrics.truncatedValues.get()).values.find((v) => v.labels.destination === name);
    assert.equal(truncated?.value, 1, 'insight_logs_truncated_values_total counts the cut value');
  });
});
