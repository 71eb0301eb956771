/**
 * EventProducer options: defaults and validation, done once at construction so a bad
 * setting fails fast with its path in the message (CONFIG_INVALID).
 */
import { InsightLogsError } from '../errors.js';
import type { InsightEvent } from '../events/types.js';
import { AUDIT_TOPIC, OPERATIONAL_TOPIC } from '../events/routing.js';
import type { KafkaSettings } from '../kafka/client.js';
import type { Logger } from '../logging.js';
import type { ProducerMetrics } from '../metrics/producer-metrics.js';
import type { SchemaRegistry } from '../codec/schema-registry.js';

export interface ProducerTopics { audit: string; operational: string }

export interface EventProducerOptions {
  /** Default: `kafkaSettingsFromEnv()`. */
  kafka?: KafkaSettings;
  /** Default: silent. The producer logs through a child `{ component: 'producer' }`. */
  logger?: Logger;
  compression?: 'none' | 'gzip';
  /** Events accepted but not yet acknowledged by Kafka; beyond it `publish` rejects QUEUE_FULL. Default 10,000. */
  maxQueueSize?: number;
  /** How long a partial batch waits for more events before it is sent. Default 5 ms. */
  lingerMs?: number;
  /** Events per `sendBatch`; a full batch is sent at once. Default 500. */
  maxBatchSize?: number;
  /** From acceptance to Kafka's acknowledgement; after it the event fails with PUBLISH_FAILED. Default 30,000 ms. */
  deliveryTimeoutMs?: number;
  /**
   * How long `close()` waits, after every accepted event is settled, for kafkajs' in-flight
   * requests and disconnects; then it lets go of the connections anyway. Default 10,000 ms.
   */
  closeTimeoutMs?: number;
  /** Default: `defaultSchemaRegistry()` (the package's `schemas/`). */
  registry?: SchemaRegistry;
  /** Default: `insight-logs-audit` / `insight-logs-operational`. */
  topics?: ProducerTopics;
  /** Where `emit` failures go; without it they are logged at error level. */
  onError?: (error: InsightLogsError, event: InsightEvent) => void;
  /** Where published / failed counts go (default: a `ProducerMetrics` of its own, at `producer.metrics`). */
  metrics?: ProducerMetrics;
}

export interface ResolvedLimits {
  compression: 'none' | 'gzip';
  maxQueueSize: number;
  lingerMs: number;
  maxBatchSize: number;
  deliveryTimeoutMs: number;
  closeTimeoutMs: number;
  topics: ProducerTopics;
}

export const PRODUCER_DEFAULTS = {
  compression: 'none',
  maxQueueSize: 10_000,
  lingerMs: 5,
  maxBatchSize: 500,
  deliveryTimeoutMs: 30_000,
  closeTimeoutMs: 10_000,
} as const;

function integer(path: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InsightLogsError('CONFIG_INVALID', `${path}: expected an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

function topicName(path: string, value: unknown): string {
  // Kafka's own rule for topic names.
  if (typeof value !== 'string' || !/^[A-Za-z0-9._-]{1,249}$/.test(value) || value === '.' || value === '..') {
    throw new InsightLogsError('CONFIG_INVALID', `${path}: a Kafka topic name (letters, digits, . _ -; at most 249 characters)`);
  }
  return value;
}

export function resolveLimits(options: EventProducerOptions): ResolvedLimits {
  const compression = options.compression ?? PRODUCER_DEFAULTS.compression;
  if (compression !== 'none' && compression !== 'gzip') {
    throw new InsightLogsError('CONFIG_INVALID', `compression: use none or gzip (kafkajs has no other codec built in), got ${String(compression)}`);
  }
  return {
    compression,
    maxQueueSize: integer('maxQueueSize', options.maxQueueSize, PRODUCER_DEFAULTS.maxQueueSize, 1),
    lingerMs: integer('lingerMs', options.lingerMs, PRODUCER_DEFAULTS.lingerMs, 0),
    maxBatchSize: integer('maxBatchSize', options.maxBatchSize, PRODUCER_DEFAULTS.maxBatchSize, 1),
    deliveryTimeoutMs: integer('deliveryTimeoutMs', options.deliveryTimeoutMs, PRODUCER_DEFAULTS.deliveryTimeoutMs, 1),
    closeTimeoutMs: integer('closeTimeoutMs', options.closeTimeoutMs, PRODUCER_DEFAULTS.closeTimeoutMs, 0),
    topics: options.topics
      ? { audit: topicName('topics.audit', options.topics.audit), operational: topicName('topics.operational', options.topics.operational) }
      : { audit: AUDIT_TOPIC, operational: OPERATIONAL_TOPIC },
  };
}
