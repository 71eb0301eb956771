/**
 * Follows the category topics for an operator. It joins a throwaway consumer group of its own
 * and never commits offsets, so it cannot disturb the forwarders' groups or their progress.
 * Starting point: the end (default), the beginning, or the first offset at/after a time
 * (`fetchTopicOffsetsByTimestamp` + `seek`). Messages it cannot decode are reported on the
 * warning channel with their coordinates, and tailing goes on.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { InsightLogsError, describeError } from '../errors.js';
import type { SchemaRegistry } from '../codec/schema-registry.js';
import { toSinkRecord } from '../forwarder/sink-record.js';
import { silentLogger, type Logger } from '../logging.js';
import { matchesAll, type FieldFilter } from './filter.js';
import { formatRecord, type OutputFormat } from './format.js';
import { WorkflowProgress } from './workflow-progress.js';
import { withTimeout } from '../util/time.js';
import type { WorkflowEvent } from '../events/types.js';

export interface TailOptions {
  kafka: Kafka;
  registry: SchemaRegistry;
  topics: readonly string[];
  fromBeginning?: boolean;
  /** Start at the first message with a timestamp at or after this epoch-ms (wins over fromBeginning). */
  sinceMs?: number;
  filters?: readonly FieldFilter[];
  format?: OutputFormat;
  /** Colour pretty lines by level (Error/Critical red, Warning yellow); for terminals. */
  color?: boolean;
  /** Stop after printing this many records. */
  max?: number;
  /** Consumer group (never committed); default `insight-logs-tail-<random>`. */
  groupId?: string;
  /** Where printed lines go (one record per call, no newline). */
  write(line: string): void;
  /** Where warnings go (undecodable messages). */
  warn(line: string): void;
  /** Stops tailing (Ctrl-C). */
  abortSignal?: AbortSignal;
  /** Deadline for connecting and joining the group, ms (default 15 s). */
  connectTimeoutMs?: number;
  logger?: Logger;
}

export interface TailResult {
  printed: number;
  /** Decoded records that did not pass the filters. */
  filteredOut: number;
  undecodable: number;
  reason: 'max' | 'stopped';
}

export function tailGroupId(): string {
  return `insight-logs-tail-${randomBytes(6).toString('hex')}`;
}

/** Rejects with KAFKA_UNAVAILABLE if `promise` is not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return withTimeout(promise, ms, () => new InsightLogsError('KAFKA_UNAVAILABLE', `${what} took longer than ${Math.round(ms / 1000)} s`, { retryable: true }));
}

/** Offsets per topic/partition of the first message at or after `sinceMs`. */
async function offsetsSince(kafka: Kafka, topics: readonly string[], sinceMs: number): Promise<{ topic: string; partition: number; offset: string }[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const all = await Promise.all(topics.map(async (topic) => {
      const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, sinceMs);
      return offsets.map((o) => ({ topic, partition: o.partition, offset: o.offset }));
    }));
    return all.flat();
  } finally {
    await admin.disconnect();
  }
}

async function assertTopicsExist(kafka: Kafka, topics: readonly string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      throw new InsightLogsError('CONFIG_INVALID', `topic ${missing.join(', ')} does not exist; create the topics with: insight-logs topics ensure`);
    }
  } finally {
    await admin.disconnect();
  }
}

export async function runTail(options: TailOptions): Promise<TailResult> {
  const { kafka, registry, topics } = options;
  const filters = options.filters ?? [];
  const format = options.format ?? 'pretty';
  const logger = options.logger ?? silentLogger;
  const connectTimeout = options.connectTimeoutMs ?? 15_000;
  const result: TailResult = { printed: 0, filteredOut: 0, undecodable: 0, reason: 'stopped' };
  const progress = new WorkflowProgress();
  if (options.abortSignal?.aborted) return result;

  await within(assertTopicsExist(kafka, topics), connectTimeout, 'checking the topics');
  const seeks = options.sinceMs === undefined ? [] : await within(offsetsSince(kafka, topics, options.sinceMs), connectTimeout, 'looking up offsets by time');

  const consumer = kafka.consumer({ groupId: options.groupId ?? tailGroupId(), maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
  // Next offset to print per topic/partition: after a seek (or a rebalance) the consumer may
  // hand us messages it already gave, or ones before the seek point; those are skipped.
  const next = new Map<string, bigint>();
  for (const s of seeks) next.set(`${s.topic}/${s.partition}`, BigInt(s.offset));

  let finish!: (reason: TailResult['reason']) => void;
  let fail!: (err: unknown) => void;
  const done = new Promise<TailResult['reason']>((resolve, reject) => { finish = resolve; fail = reject; });
  const onAbort = () => finish('stopped');
  options.abortSignal?.addEventListener('abort', onAbort, { once: true });
  consumer.on(consumer.events.CRASH, (event) => {
    if (!event.payload.restart) fail(event.payload.error);
  });

  let stopped = false;
  try {
    await within(consumer.connect(), connectTimeout, 'connecting the consumer');
    await consumer.subscribe({ topics: [...topics], fromBeginning: options.fromBeginning === true || seeks.length > 0 });
    await within(consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        if (stopped) return;
        const key = `${topic}/${partition}`;
        const offset = BigInt(message.offset);
        const expected = next.get(key);
        if (expected !== undefined && offset < expected) return;
        next.set(key, offset + 1n);
        if (!message.value) {
          result.undecodable++;
          options.warn(`warning: ${topic}/${partition}@${message.offset}: empty message value (tombstone), skipped`);
          return;
        }
        let line: string;
        try {
          const { event } = registry.decode(message.value);
          const record = toSinkRecord(event, { topic, partition, offset: message.offset });
          // Noted before filtering, so `task 2/4` stays right when the run's start is filtered out.
          const position = record.kind === 'WorkflowEvent' ? progress.note(record.event as WorkflowEvent) : undefined;
          if (!matchesAll(filters, record.event)) {
            result.filteredOut++;
            return;
          }
          line = format === 'json' ? record.json : formatRecord(record.event, format, { color: options.color === true, ...(position ? { position } : {}) });
        } catch (err) {
          result.undecodable++;
          options.warn(`warning: ${topic}/${partition}@${message.offset}: cannot decode (${describeError(err)}), skipped`);
          return;
        }
        options.write(line);
        result.printed++;
        if (options.max !== undefined && result.printed >= options.max) {
          stopped = true;
          finish('max');
        }
      },
    }), connectTimeout, 'joining the consumer group');
    for (const s of seeks) consumer.seek(s);
    result.reason = await done;
    stopped = true;
    return result;
  } finally {
    stopped = true;
    options.abortSignal?.removeEventListener('abort', onAbort);
    await consumer.disconnect().catch((err: unknown) => logger.debug({ err }, 'tail consumer disconnect failed'));
  }
}
