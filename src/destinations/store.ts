/**
 * The destinations store: a compacted topic (default `insight-logs-destinations`) where the
 * key is the destination name, the value the JSON of its validated config, and a tombstone
 * (null value) removes it. Every forwarder process watches it, so adding or removing a
 * destination needs no restart anywhere.
 */
import { randomBytes } from 'node:crypto';
import { type Admin, type Kafka, type Producer } from 'kafkajs';
import { cachedKeyPartitioner } from '../kafka/partitioner.js';
import { destinationToJson, parseDestination, type DestinationConfig } from '../config/destinations.js';
import { InsightLogsError } from '../errors.js';
import { DESTINATIONS_TOPIC } from '../events/routing.js';
import { silentLogger, type Logger } from '../logging.js';
import { ensureTopics } from '../kafka/topics.js';
import { defaultSinkRegistry, type SinkRegistry } from '../sinks/registry.js';

export interface DestinationStoreOptions {
  kafka: Kafka;
  topic?: string;
  logger?: Logger;
  registry?: SinkRegistry;
  /** Passed to ensureTopics for the default topic names. */
  env?: NodeJS.ProcessEnv;
}

export interface DestinationWatch {
  stop(): Promise<void>;
}

export type DestinationsListener = (destinations: DestinationConfig[], info: { initial: boolean }) => void | Promise<void>;

/**
 * Ensures a compacted single-partition topic for destinations (ordering of changes matters);
 * under the default name, the project's other default topics too.
 */
export async function ensureDestinationsTopic(admin: Admin, topic: string, env?: NodeJS.ProcessEnv): Promise<void> {
  await ensureTopics(admin, { ...(env ? { env } : {}), ...(topic === DESTINATIONS_TOPIC ? {} : { names: { destinations: topic }, only: ['destinations'] as const }) });
}

export class DestinationStore {
  readonly topic: string;
  private readonly kafka: Kafka;
  private readonly logger: Logger;
  private readonly registry: SinkRegistry;
  private producer: Producer | undefined;
  private ensured = false;

  constructor(private readonly options: DestinationStoreOptions) {
    this.kafka = options.kafka;
    this.topic = options.topic ?? DESTINATIONS_TOPIC;
    this.logger = options.logger ?? silentLogger;
    this.registry = options.registry ?? defaultSinkRegistry();
  }

  /** Creates the topic when missing (idempotent). */
  async ensure(): Promise<void> {
    if (this.ensured) return;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureDestinationsTopic(admin, this.topic, this.options.env);
      this.ensured = true;
    } finally {
      await admin.disconnect();
    }
  }

  /** Adds or replaces destinations (already validated) in one acknowledged write. */
  async apply(configs: readonly DestinationConfig[]): Promise<void> {
    if (configs.length === 0) return;
    await this.write(configs.map((c) => ({ key: c.name, value: JSON.stringify(destinationToJson(c)) })));
  }

  /** Removes one destination; DESTINATION_UNKNOWN when there is none of that name. */
  async remove(name: string): Promise<void> {
    const current = await this.list();
    if (!current.some((d) => d.name === name)) {
      const known = current.map((d) => d.name);
      throw new InsightLogsError('DESTINATION_UNKNOWN', `no destination named "${name}"${known.length ? ` (known: ${known.join(', ')})` : ' (none configured)'}`);
    }
    await this.write([{ key: name, value: null }]);
  }

  /** The current destinations: the topic read from the beginning to its end offsets. */
  async list(): Promise<DestinationConfig[]> {
    let result: DestinationConfig[] = [];
    const watch = await this.watch((d, info) => { if (info.initial) result = d; }, { untilCaughtUp: true });
    await watch.stop();
    return result;
  }

  /**
   * Calls `onChange` with the full current set once caught up (`initial: true`), then after
   * every change. Uses a throwaway group that never commits, so every watcher sees everything.
   * With `untilCaughtUp`, resolves only after the initial call.
   */
  async watch(onChange: DestinationsListener, options: { untilCaughtUp?: boolean } = {}): Promise<DestinationWatch> {
    await this.ensure();
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: Map<number, bigint>;
    try {
      ends = new Map((await admin.fetchTopicOffsets(this.topic)).map((o) => [o.partition, BigInt(o.high)]));
    } finally {
      await admin.disconnect();
    }
    const current = new Map<string, DestinationConfig>();
    const next = new Map<number, bigint>();
    const caughtUp = (): boolean => [...ends].every(([p, high]) => (next.get(p) ?? 0n) >= high);
    let initialSent = false;
    let resolveInitial!: () => void;
    let rejectInitial!: (err: Error) => void;
    const initial = new Promise<void>((resolve, reject) => { resolveInitial = resolve; rejectInitial = reject; });
    const emit = async (): Promise<void> => {
      const list = [...current.values()].sort((a, b) => a.name.localeCompare(b.name));
      const first = !initialSent;
      initialSent = true;
      try {
        await onChange(list, { initial: first });
      } finally {
        if (first) resolveInitial();
      }
    };

    const consumer = this.kafka.consumer({
      groupId: `insight-logs-destinations-watch.${randomBytes(6).toString('hex')}`,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      // kafkajs restarts the consumer itself after a retriable crash (a group coordinator still
      // loading on a broker that just started, seen in the broker-restart fault): only a crash
      // it gives up on fails the start.
      if (!payload.restart) {
        if (!initialSent) rejectInitial(payload.error);
        this.logger.error({ err: payload.error }, 'destinations watch crashed');
      } else {
        this.logger.warn({ err: payload.error }, 'destinations watch crashed; kafkajs restarts it');
      }
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          next.set(batch.partition, BigInt(message.offset) + 1n);
          const name = message.key?.toString('utf8') ?? '';
          if (message.value === null || message.value.length === 0) {
            current.delete(name);
            continue;
          }
          try {
            const config = parseDestination(JSON.parse(message.value.toString('utf8')), `destination "${name}"`, this.registry);
            current.set(config.name, config);
          } catch (err) {
            // Written by a newer version or by hand: skip it, keep the rest running.
            this.logger.warn({ err, destination: name, offset: message.offset }, 'ignoring an invalid destination definition');
          }
        }
        next.set(batch.partition, BigInt(batch.lastOffset()) + 1n);
        if (!initialSent && !caughtUp()) return;
        await emit();
      },
    });
    if (caughtUp() && !initialSent) void emit();
    if (options.untilCaughtUp) {
      try {
        await initial;
      } catch (err) {
        await consumer.disconnect();
        throw err;
      }
    }
    return { stop: () => consumer.disconnect() };
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    if (producer) await producer.disconnect();
  }

  private async write(messages: { key: string; value: string | null }[]): Promise<void> {
    await this.ensure();
    if (!this.producer) {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: cachedKeyPartitioner });
      await producer.connect();
      this.producer = producer;
    }
    await this.producer.send({ topic: this.topic, acks: -1, messages });
    this.logger.info({ destinations: messages.map((m) => m.key), removed: messages.filter((m) => m.value === null).length }, 'destinations written');
  }
}
