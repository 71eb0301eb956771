import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApiEvent } from '../events/builders.js';
import { kafkaSettingsFromEnv } from '../kafka/client.js';
import { EventProducer } from '../producer/event-producer.js';
import { ProducerMetrics } from './producer-metrics.js';
import { PRODUCER_METRICS } from './names.js';

const event = () => buildApiEvent({ resourceId: '/SUBSCRIPTIONS/S/RESOURCEGROUPS/R/PROVIDERS/MICROSOFT.D365CUSTOMERINSIGHTS/INSTANCES/I-1', operationName: 'Segments.ListAsync', method: 'GET', status: 200 });

async function value(metrics: ProducerMetrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const family = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return family?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

test('producer metrics: PUBLISH_FAILED, QUEUE_FULL and EVENT_INVALID counted by code, pending while waiting, shared by two producers', async () => {
  const metrics = new ProducerMetrics();
  assert.equal(await value(metrics, PRODUCER_METRICS.failed.name, { code: 'PUBLISH_FAILED' }), 0, 'known codes start at 0');
  // Nothing listens on port 1: nothing is acknowledged, events fail after the delivery timeout.
  const kafka = kafkaSettingsFromEnv({ KAFKA_BROKERS: '127.0.0.1:1' }, { connectionTimeoutMs: 200, requestTimeoutMs: 200 });
  const a = new EventProducer({ kafka, metrics, deliveryTimeoutMs: 400, maxQueueSize: 2 });
  const b = new EventProducer({ kafka, metrics, deliveryTimeoutMs: 400 });
  try {
    const waiting = [a.publish(event()), a.publish(event()), b.publish(event())].map((p) => p.catch((err: { code?: string }) => err.code));
    assert.equal(await value(metrics, PRODUCER_METRICS.pending.name), 3, 'three pending across both producers');
    assert.equal(await a.publish(event()).catch((err: { code?: string }) => err.code), 'QUEUE_FULL');
    assert.equal(await b.publish({ ...event(), time: 'yesterday' }).catch((err: { code?: string }) => err.code), 'EVENT_INVALID');
    assert.deepEqual(await Promise.all(waiting), ['PUBLISH_FAILED', 'PUBLISH_FAILED', 'PUBLISH_FAILED']);
    assert.equal(await value(metrics, PRODUCER_METRICS.failed.name, { code: 'PUBLISH_FAILED' }), 3);
    assert.equal(await value(metrics, PRODUCER_METRICS.failed.name, { code: 'QUEUE_FULL' }), 1);
    assert.equal(await value(metrics, PRODUCER_METRICS.failed.name, { code: 'EVENT_INVALID' }), 1);
    assert.equal(await value(metrics, PRODUCER_METRICS.pending.name), 0);
    assert.equal(await value(metrics, PRODUCER_METRICS.published.name), undefined, 'nothing published');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
  assert.ok(new EventProducer({ kafka }).metrics instanceof ProducerMetrics, 'a producer has metrics of its own by default');
});
