/**
 * Publishes bench events through the project's EventProducer (the way services do), keeping
 * a bounded window of unacknowledged events so memory stays flat whatever N is.
 */
import { EventProducer } from '../../src/producer/event-producer.js';
import { benchEvent } from './events.js';
import { benchKafkaSettings } from './kafka.js';

const WINDOW = 5_000;

export interface PublishResult { events: number; bytes: number; ms: number; eventsPerSec: number }

/** Publishes events `from`..`from+count-1` of a run to `topic` (both categories); resolves when all are acknowledged. */
export async function publishEvents(brokers: string[], topic: string, runId: string, count: number, from = 0): Promise<PublishResult> {
  const producer = new EventProducer({
    kafka: benchKafkaSettings(brokers, runId),
    topics: { audit: topic, operational: topic },
    maxQueueSize: WINDOW * 4,
    maxBatchSize: 1000,
    deliveryTimeoutMs: 120_000,
  });
  await producer.connect();
  const started = performance.now();
  let bytes = 0;
  let previous: Promise<unknown> = Promise.resolve();
  let window: Promise<void>[] = [];
  try {
    for (let i = from; i < from + count; i++) {
      const event = benchEvent(i, runId);
      if (i - from < 1000) bytes += JSON.stringify(event).length;
      window.push(producer.publish(event));
      if (window.length >= WINDOW) {
        // Two windows in flight: the producer always has a full batch queued behind the one being sent.
        await previous;
        previous = Promise.all(window);
        window = [];
      }
    }
    await previous;
    await Promise.all(window);
  } finally {
    await producer.close();
  }
  const ms = performance.now() - started;
  // Average JSON size from the first 1,000 events, scaled.
  const avg = bytes / Math.min(count, 1000);
  return { events: count, bytes: Math.round(avg * count), ms, eventsPerSec: count / (ms / 1000) };
}
