/**
 * The only file of this sink that talks to kafkajs: an idempotent producer for plain sends
 * (`IdempotentSender`: one send at a time, a fresh producer after a failure, every partition's
 * answer checked; kafka/idempotent-producer.ts says which acknowledged records kafkajs loses
 * otherwise), one transactional producer per transactional id for exactly-once mode, and an admin
 * client for committed offsets and health. kafkajs's own retries are kept short: the
 * forwarder owns retrying (with backoff, until delivered or dead-lettered).
 */
import { CompressionTypes, type Admin, type Kafka, type Producer, type Transaction } from 'kafkajs';
import { createKafka, type KafkaSettings } from '../../kafka/client.js';
import { IdempotentSender } from '../../kafka/idempotent-producer.js';
import { cachedKeyPartitioner } from '../../kafka/partitioner.js';
import type { Logger } from '../../logging.js';
import type { Compression } from './config.js';
import type { TopicBatch } from './request-builder.js';

export interface KafkaServiceOptions {
  connection: KafkaSettings;
  compression: Compression;
  logger: Logger;
  /** The broker aborts a transaction left open longer than this (e.g. by a killed process). */
  transactionTimeoutMs?: number;
}

export interface OffsetsForGroup {
  groupId: string;
  topic: string;
  partitions: { partition: number; offset: string }[];
}

/** What a transaction body may do; `runTransaction` commits when it returns and aborts when it throws. */
export interface TransactionScope {
  send(batches: readonly TopicBatch[]): Promise<void>;
  sendOffsets(offsets: OffsetsForGroup): Promise<void>;
}

const SHORT_RETRY = { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 };
const ACKS_ALL = -1;

export class KafkaService {
  private readonly kafka: Kafka;
  private readonly plain: IdempotentSender;
  private readonly transactional = new Map<string, Promise<Producer>>();
  private admin: Promise<Admin> | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: KafkaServiceOptions) {
    this.kafka = createKafka(options.connection, options.logger);
    this.plain = new IdempotentSender(this.kafka, { retry: SHORT_RETRY });
  }

  private get compression(): CompressionTypes {
    return this.options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  }

  /** Connects lazily; a failed connect is forgotten so the next call tries again. */
  private connectOnce<T extends { connect(): Promise<void>; disconnect(): Promise<void> }>(client: T, forget: () => void): Promise<T> {
    const connected = client.connect().then(() => client);
    connected.catch(() => {
      forget();
      client.disconnect().catch(() => undefined);
    });
    return connected;
  }

  private track<T>(work: Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new Error('the Kafka destination is closed'));
    this.inFlight.add(work);
    const done = (): void => { this.inFlight.delete(work); };
    work.then(done, done);
    return work;
  }

  /** One `sendBatch` with the idempotent producer, acks from all in-sync replicas. */
  send(batches: readonly TopicBatch[]): Promise<void> {
    return this.track((async () => {
      await this.plain.send({ topicMessages: batches.map((b) => ({ topic: b.topic, messages: b.messages })), acks: ACKS_ALL, compression: this.compression });
    })());
  }

  /**
   * Makes sure a transactional producer exists and is initialised (InitProducerId: fences
   * any older producer with this id and waits until its open transaction is aborted or
   * completed).
   */
  async ensureTransactionalProducer(transactionalId: string): Promise<void> {
    if (this.transactional.has(transactionalId)) {
      await this.transactional.get(transactionalId);
      return;
    }
    const producer = this.kafka.producer({
      transactionalId,
      createPartitioner: cachedKeyPartitioner,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.options.transactionTimeoutMs ?? 60_000,
      retry: SHORT_RETRY,
    });
    const connected = this.connectOnce(producer, () => { this.transactional.delete(transactionalId); });
    this.transactional.set(transactionalId, connected);
    await this.track(connected);
  }

  /** Runs `body` in one transaction: commit when it resolves, abort (and rethrow) when it throws. */
  runTransaction(transactionalId: string, body: (scope: TransactionScope) => Promise<void>): Promise<void> {
    return this.track((async () => {
      await this.ensureTransactionalProducer(transactionalId);
      const producer = await this.transactional.get(transactionalId)!;
      const transaction: Transaction = await producer.transaction();
      try {
        await body({
          send: async (batches) => {
            await transaction.sendBatch({ topicMessages: batches.map((b) => ({ topic: b.topic, messages: b.messages })), acks: ACKS_ALL, compression: this.compression });
          },
          sendOffsets: async ({ groupId, topic, partitions }) => {
            await transaction.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions }] });
          },
        });
        await transaction.commit();
      } catch (error) {
        try {
          if (transaction.isActive()) await transaction.abort();
        } catch (abortError) {
          // A producer whose abort failed is in an unknown state: start over with a new one,
          // whose InitProducerId aborts what is left on the broker.
          this.options.logger.warn({ err: abortError }, 'aborting a Kafka transaction failed; the producer will be recreated');
          await this.discardTransactional(transactionalId);
        }
        throw error;
      }
    })());
  }

  /** Disconnects and forgets a transactional producer (fenced or broken); the next use creates a new one. */
  async discardTransactional(transactionalId: string): Promise<void> {
    const producer = this.transactional.get(transactionalId);
    this.transactional.delete(transactionalId);
    await producer?.then((p) => p.disconnect()).catch(() => undefined);
  }

  private adminClient(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin({ retry: SHORT_RETRY });
      this.admin = this.connectOnce(admin, () => { this.admin = undefined; });
    }
    return this.admin;
  }

  /** The group's committed next offset for one partition, or undefined when it has none. */
  committedOffset(groupId: string, topic: string, partition: number): Promise<bigint | undefined> {
    return this.track((async () => {
      const admin = await this.adminClient();
      const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const offset = result?.partitions.find((p) => p.partition === partition)?.offset;
      return offset === undefined || BigInt(offset) < 0n ? undefined : BigInt(offset);
    })());
  }

  /** The subset of `topics` that does not exist on the target cluster; throws when the cluster cannot be reached. */
  missingTopics(topics: readonly string[]): Promise<string[]> {
    return this.track((async () => {
      const admin = await this.adminClient();
      const existing = new Set(await admin.listTopics());
      return topics.filter((t) => !existing.has(t));
    })());
  }

  /** Waits for sends in flight (kafkajs's disconnect would not), then disconnects everything. Safe twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.inFlight]);
      const clients: Promise<{ disconnect(): Promise<void> }>[] = [...this.transactional.values()];
      if (this.admin) clients.push(this.admin);
      this.transactional.clear();
      this.admin = undefined;
      await Promise.allSettled([this.plain.close(), ...clients.map((c) => c.then((x) => x.disconnect()))]);
    })();
    return this.closing;
  }
}
