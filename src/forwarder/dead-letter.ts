/**
 * The dead-letter topic: records that can never be delivered, with the original bytes and
 * key and the reason in headers. Writes are acknowledged by all in-sync replicas (idempotent
 * producer) before the caller commits the source offset, so nothing is lost in between.
 */
import { type IHeaders, type Kafka, type Message } from 'kafkajs';
import { IdempotentSender } from '../kafka/idempotent-producer.js';
import type { ErrorCode } from '../errors.js';
import { DEADLETTER_TOPIC } from '../events/routing.js';
import { scrubSecrets } from '../logging.js';

export interface DeadLetter {
  /** Original message value and key, unchanged. */
  value: Buffer | null;
  key: Buffer | null;
  source: { topic: string; partition: number; offset: string };
  destination: string;
  code: ErrorCode;
  reason: string;
}

export const DEADLETTER_HEADERS = {
  reason: 'x-deadletter-reason',
  code: 'x-deadletter-code',
  sourceTopic: 'x-source-topic',
  sourcePartition: 'x-source-partition',
  sourceOffset: 'x-source-offset',
  destination: 'x-destination',
  time: 'x-deadletter-time',
} as const;

/**
 * Headers of a record replayed from the dead-letter topic onto its source topic: where it was
 * dead-lettered, and the one destination that failed it. Other destinations already have that
 * record, so they skip it instead of delivering it twice.
 */
export const REPLAY_HEADERS = {
  from: 'x-replayed-from',
  forDestination: 'x-replayed-for-destination',
} as const;

/** True when a message is a dead-letter replay meant for some other destination than `destination`. */
export function isReplayForAnother(headers: Record<string, unknown> | undefined, destination: string): boolean {
  const target = headers?.[REPLAY_HEADERS.forDestination];
  if (target === undefined || target === null) return false;
  const name = Buffer.isBuffer(target) ? target.toString('utf8') : String(target);
  return name !== destination;
}

/** Headers are limited in practice; a reason is a sentence, not a dump. */
const MAX_REASON_LENGTH = 1000;

export function deadLetterMessage(entry: DeadLetter, now = new Date()): Message {
  const headers: IHeaders = {
    [DEADLETTER_HEADERS.reason]: scrubSecrets(entry.reason).slice(0, MAX_REASON_LENGTH),
    [DEADLETTER_HEADERS.code]: entry.code,
    [DEADLETTER_HEADERS.sourceTopic]: entry.source.topic,
    [DEADLETTER_HEADERS.sourcePartition]: String(entry.source.partition),
    [DEADLETTER_HEADERS.sourceOffset]: entry.source.offset,
    [DEADLETTER_HEADERS.destination]: entry.destination,
    [DEADLETTER_HEADERS.time]: now.toISOString(),
  };
  return { key: entry.key, value: entry.value, headers };
}

/**
 * kafkajs' own retries inside one write: at most about 4 s of waiting (0.2 s doubling, capped
 * at 2 s, ±20 %). The pipeline sends no consumer heartbeat while a write runs; with kafkajs'
 * defaults (5 retries from 0.3 s, cap 30 s) a write to a deleted dead-letter topic took 6–9 s
 * and up to 20 s with its jitter, against a 10 s session timeout, and a SIGTERM waited for it.
 * A write now fails sooner, and the pipeline waits with heartbeats and writes again, committing
 * nothing past the record meanwhile.
 */
export const DEADLETTER_WRITE_RETRY = { retries: 4, initialRetryTime: 200, maxRetryTime: 2000 } as const;

/**
 * One writer for every pipeline of a forwarder: an `IdempotentSender`, so writes of several
 * pipelines queue behind each other and a failed write is followed by a fresh producer (kafkajs
 * otherwise reuses a failed write's sequence numbers, and a write of another pipeline could be
 * acknowledged as that one's duplicate without being written: kafka/idempotent-producer.ts).
 */
export class DeadLetterWriter {
  private readonly sender: IdempotentSender;

  constructor(kafka: Kafka, readonly topic: string = DEADLETTER_TOPIC) {
    this.sender = new IdempotentSender(kafka, { allowAutoTopicCreation: false, retry: DEADLETTER_WRITE_RETRY });
  }

  async connect(): Promise<void> {
    await this.sender.connect();
  }

  /** Resolves once every entry is acknowledged by all in-sync replicas; throws otherwise (the caller retries). */
  async write(entries: readonly DeadLetter[]): Promise<void> {
    if (entries.length === 0) return;
    const now = new Date();
    await this.sender.send({ topicMessages: [{ topic: this.topic, messages: entries.map((e) => deadLetterMessage(e, now)) }], acks: -1 });
  }

  async close(): Promise<void> {
    await this.sender.close();
  }
}
