/**
 * The `kafka` destination: one JSON record per message on a Kafka cluster, topic per
 * category. Plain mode uses an idempotent producer (at-least-once: a resent batch may be
 * written twice). Exactly-once mode (`exactlyOnce: true`) implements `sendAndCommit`: the
 * records and the forwarder's consumer offsets are committed in one Kafka transaction per
 * source partition, so readers with `read_committed` see every record exactly once.
 */
import { InsightLogsError, describeError } from '../../errors.js';
import { CATEGORY_NAMES } from '../../events/routing.js';
import type { KafkaSettings } from '../../kafka/client.js';
import { scrubSecrets } from '../../logging.js';
import type { HealthResult, OffsetCommit, RejectedRecord, SendOptions, SendOutcome, Sink, SinkContext, SinkRecord, SinkType } from '../sink.js';
import { classifyKafkaError } from './classify.js';
import { parseKafkaSinkSettings, type KafkaSinkSettings } from './config.js';
import { groupBySourcePartition, groupByTopic, piecesOf, splitInHalves, toMessage, transactionalIdFor, withoutCommitted, type PartitionWork } from './request-builder.js';
import { KafkaService } from './service.js';

/** Resolves the SASL password from the environment variable the settings name (never stored in settings). */
function connectionSettings(settings: KafkaSinkSettings, context: SinkContext): KafkaSettings {
  let sasl: KafkaSettings['sasl'];
  if (settings.sasl) {
    const password = context.env[settings.sasl.passwordEnv];
    if (!password) {
      throw new InsightLogsError('SECRET_MISSING', `destination ${context.name}: environment variable ${settings.sasl.passwordEnv} (sasl.passwordEnv) is not set`);
    }
    sasl = { mechanism: settings.sasl.mechanism, username: settings.sasl.username, password };
  }
  return {
    brokers: [...settings.brokers],
    clientId: `insight-logs.${context.name}`,
    ssl: settings.ssl,
    sslRejectUnauthorized: settings.sslRejectUnauthorized,
    allowInsecure: settings.allowInsecure,
    connectionTimeoutMs: 3000,
    requestTimeoutMs: 30_000,
    ...(sasl ? { sasl } : {}),
  };
}

export class KafkaSink implements Sink {
  readonly type = 'kafka';
  /** Present only in exactly-once mode: the forwarder then lets this sink commit offsets. */
  readonly sendAndCommit?: (batch: readonly SinkRecord[], offsets: readonly OffsetCommit[], options?: SendOptions) => Promise<SendOutcome>;
  private readonly service: KafkaService;
  /**
   * Next offset to consume per `group|topic|partition`, as last committed through this
   * sink (or read from the broker when a transactional producer starts). A resent batch
   * whose records were already committed is skipped instead of written twice.
   */
  private readonly committed = new Map<string, bigint>();
  /** Transactional ids whose committed offsets were read after their producer started. */
  private readonly verified = new Set<string>();

  constructor(private readonly settings: KafkaSinkSettings, private readonly context: SinkContext) {
    this.service = new KafkaService({ connection: connectionSettings(settings, context), compression: settings.compression, logger: context.logger });
    if (settings.exactlyOnce) this.sendAndCommit = (batch, offsets, options) => this.transactionalSend(batch, offsets, options);
  }

  async send(batch: readonly SinkRecord[], options: SendOptions = {}): Promise<SendOutcome> {
    if (options.abortSignal?.aborted) return this.retryable(new InsightLogsError('ABORTED', 'send aborted'));
    const rejected: RejectedRecord[] = [];
    try {
      for (const piece of piecesOf(batch)) await this.deliver(piece, rejected);
      return rejected.length > 0 ? { status: 'delivered', rejected } : { status: 'delivered' };
    } catch (error) {
      return this.retryable(error);
    }
  }

  /** One sendBatch; a batch refused as too large is halved until single records are rejected. */
  private async deliver(records: readonly SinkRecord[], rejected: RejectedRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      await this.service.send(groupByTopic(records.map((r) => toMessage(r, this.settings.topics))));
    } catch (error) {
      if (classifyKafkaError(error).kind !== 'too-large') throw error;
      if (records.length === 1) {
        rejected.push(this.tooLarge(records[0]!));
        return;
      }
      for (const half of splitInHalves(records)) await this.deliver(half, rejected);
    }
  }

  private tooLarge(record: SinkRecord): RejectedRecord {
    return { record, code: 'RECORD_TOO_LARGE', reason: `the Kafka cluster of destination ${this.context.name} refused the record as too large (${Buffer.byteLength(record.json)} bytes of JSON)` };
  }

  private async transactionalSend(batch: readonly SinkRecord[], offsets: readonly OffsetCommit[], options: SendOptions = {}): Promise<SendOutcome> {
    if (options.abortSignal?.aborted) return this.retryable(new InsightLogsError('ABORTED', 'send aborted'));
    const rejected: RejectedRecord[] = [];
    try {
      for (const work of groupBySourcePartition(batch, offsets)) {
        await this.commitPartition(work, rejected);
      }
      return rejected.length > 0 ? { status: 'delivered', rejected } : { status: 'delivered' };
    } catch (error) {
      return this.retryable(error);
    }
  }

  /** One transaction: the partition's records (halved on too-large), then its offsets, then commit. */
  private async commitPartition(work: PartitionWork, rejected: RejectedRecord[]): Promise<void> {
    const id = transactionalIdFor(this.settings.transactionalIdPrefix, this.context.name, work.topic, work.partition);
    await this.service.ensureTransactionalProducer(id);
    const remaining = withoutCommitted(work, await this.committedOffset(id, work));
    if (remaining.records.length === 0 && remaining.offsets.length === 0) return;

    // The same ≤ 512 KiB pieces as a plain send, several sends in one transaction: a whole
    // chunk (2,000 records, ~2 MB) in one send was refused as too large, after kafkajs' own
    // retries, and halved twice per chunk, every chunk (the bench's kafka-eos row stalled).
    const chunks: SinkRecord[][] = piecesOf(remaining.records);
    const chunkRejected: RejectedRecord[] = [];
    for (;;) {
      let sending = -1;
      try {
        await this.service.runTransaction(id, async (tx) => {
          for (let i = 0; i < chunks.length; i++) {
            sending = i;
            if (chunks[i]!.length > 0) await tx.send(groupByTopic(chunks[i]!.map((r) => toMessage(r, this.settings.topics))));
          }
          sending = -1;
          for (const [groupId, partitions] of offsetsByGroup(remaining.offsets)) {
            await tx.sendOffsets({ groupId, topic: work.topic, partitions });
          }
        });
        break;
      } catch (error) {
        const failure = classifyKafkaError(error);
        if (failure.kind === 'too-large' && sending >= 0) {
          const chunk = chunks[sending]!;
          if (chunk.length === 1) {
            chunkRejected.push(this.tooLarge(chunk[0]!));
            chunks.splice(sending, 1);
          } else {
            chunks.splice(sending, 1, ...splitInHalves(chunk));
          }
          continue;
        }
        if (failure.kind === 'reset-producer') await this.resetProducer(id, work, failure.fenced, error);
        throw error;
      }
    }
    rejected.push(...chunkRejected);
    for (const o of remaining.offsets) this.committed.set(committedKey(o.groupId, o.topic, o.partition), BigInt(o.offset));
  }

  /**
   * What the group has committed for this partition. Read from the broker once per new
   * producer (after InitProducerId, so an earlier owner's transaction is settled): a
   * transaction that committed just before a crash or rebalance may not be reflected in
   * the offsets the consumer fetched when it started.
   */
  private async committedOffset(id: string, work: PartitionWork): Promise<bigint | undefined> {
    const groupId = work.offsets[0]?.groupId;
    if (groupId === undefined) return undefined;
    const key = committedKey(groupId, work.topic, work.partition);
    if (!this.verified.has(id)) {
      const fromBroker = await this.service.committedOffset(groupId, work.topic, work.partition);
      if (fromBroker === undefined) this.committed.delete(key);
      else this.committed.set(key, fromBroker);
      this.verified.add(id);
    }
    return this.committed.get(key);
  }

  private async resetProducer(id: string, work: PartitionWork, fenced: boolean, error: unknown): Promise<void> {
    const message = fenced
      ? 'Kafka transactional producer was fenced: another forwarder now owns this source partition (or a process with the same id started); the producer will be recreated if this instance still owns it'
      : 'Kafka transactional producer is in a broken state; recreating it';
    this.context.logger.error({ destination: this.context.name, transactionalId: id, err: error }, message);
    this.verified.delete(id);
    // Someone else may have committed since: read the group's offsets again with the next producer.
    for (const o of work.offsets) this.committed.delete(committedKey(o.groupId, o.topic, o.partition));
    await this.service.discardTransactional(id);
  }

  private retryable(error: unknown): SendOutcome {
    const failure = classifyKafkaError(error);
    const wrapped = error instanceof InsightLogsError
      ? error
      : new InsightLogsError('SINK_UNAVAILABLE', `Kafka destination ${this.context.name}: ${scrubSecrets(describeError(error))}`, {
        cause: error,
        retryable: true,
        ...(failure.kind === 'retryable' && failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
      });
    return {
      status: 'retryable',
      error: wrapped,
      ...(failure.kind === 'retryable' && failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
    };
  }

  async healthcheck(): Promise<HealthResult> {
    const topics = this.context.categories.length > 0
      ? this.context.categories.map((c) => this.settings.topics[c])
      : CATEGORY_NAMES.map((c) => this.settings.topics[c]);
    try {
      const missing = await this.service.missingTopics(topics);
      if (missing.length > 0) {
        return { ok: true, detail: `cluster reachable; topic(s) ${missing.join(', ')} do not exist yet (created on first send when the cluster allows auto-creation)` };
      }
      return { ok: true, detail: `cluster reachable; topics ${topics.join(', ')} exist` };
    } catch (error) {
      return { ok: false, problem: `Kafka cluster ${this.settings.brokers.join(',')} of destination ${this.context.name} is not reachable: ${scrubSecrets(describeError(error))}` };
    }
  }

  close(): Promise<void> {
    return this.service.close();
  }
}

function committedKey(groupId: string, topic: string, partition: number): string {
  return `${groupId}|${topic}-${partition}`;
}

function offsetsByGroup(offsets: readonly OffsetCommit[]): Map<string, { partition: number; offset: string }[]> {
  const byGroup = new Map<string, { partition: number; offset: string }[]>();
  for (const o of offsets) {
    let list = byGroup.get(o.groupId);
    if (!list) byGroup.set(o.groupId, (list = []));
    list.push({ partition: o.partition, offset: o.offset });
  }
  return byGroup;
}

export type { KafkaSinkSettings } from './config.js';

export const kafkaSinkType: SinkType<KafkaSinkSettings> = {
  type: 'kafka',
  title: 'Kafka',
  description: 'another Kafka cluster (idempotent, or exactly-once)',
  addFlags: [{ flag: '--brokers <list>', key: 'brokers', help: 'target brokers host:port,…' }],
  parseSettings: parseKafkaSinkSettings,
  create: (settings, context) => new KafkaSink(settings, context),
};
