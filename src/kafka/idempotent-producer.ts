/**
 * kafkajs' idempotent producer, used the only way it keeps every acknowledged record: every
 * idempotent producer of ours is an `IdempotentSender` (the SDK's EventProducer, the Kafka
 * sink's plain mode, the dead-letter writer), which follows these three rules.
 *
 * 1. One send at a time per kafkajs producer. kafkajs 2.2.4 gives a produce request's
 *    sequence numbers back when the request fails, including when the outcome is unknown (the
 *    connection dropped after the broker wrote the batch: a leader killed after its followers
 *    copied it). The next request to that partition then reuses them; when it holds as many
 *    records as the lost answer's batch, the broker takes it for a duplicate of that batch,
 *    answers with the old batch's offset and writes nothing. A concurrent send acknowledged,
 *    never written: 1 in 3 in integration-tests/idempotent-producer.test.ts without this rule,
 *    and 1 acknowledged event lost in three-brokers.test.ts in CI.
 * 2. A new kafkajs producer (a new producer id) after a send failed or was answered in part:
 *    the next send would otherwise reuse the failed one's sequence numbers for other records.
 * 3. The answer is checked for every partition. kafkajs retries a send only towards brokers
 *    that have not answered yet, with the partitions mapped to their leaders anew: when a
 *    partition's leader moves to a broker that already answered for its own partitions, that
 *    partition's records are never sent again and the send RESOLVES (6 acknowledged events in
 *    12 lost on three brokers with a leader killed -9). `wasAnswered` tells which
 *    records got an answer, through the partition `notingPartitioner` noted for each.
 *
 * A record resent after rule 2 or 3 may have landed already: at-least-once, never a loss.
 */
import type { ICustomPartitioner, Kafka, Message, Producer, ProducerBatch, ProducerConfig, RecordMetadata } from 'kafkajs';
import { settlesWithin } from '../util/time.js';
import { cachedKeyPartitioner } from './partitioner.js';

/** The partition kafkajs chose for each message (its partitioner runs on every attempt; the last choice is the one sent). */
const partitionOf = new WeakMap<object, number>();

/** Our partitioner (`cachedKeyPartitioner`), noting each message's partition for the answer check. */
export const notingPartitioner: ICustomPartitioner = () => {
  const pick = cachedKeyPartitioner();
  return (args) => {
    const partition = pick(args);
    partitionOf.set(args.message, partition);
    return partition;
  };
};

/** The partitions the broker answered for, by topic. */
type AnsweredPartitions = ReadonlyMap<string, ReadonlySet<number>>;

function answeredPartitionsOf(answer: readonly RecordMetadata[]): AnsweredPartitions {
  const answered = new Map<string, Set<number>>();
  for (const r of answer) {
    const partitions = answered.get(r.topicName);
    if (partitions) partitions.add(r.partition);
    else answered.set(r.topicName, new Set([r.partition]));
  }
  return answered;
}

/** Whether `message`, sent to `topic` through `notingPartitioner`, is covered by `answered` (no allocation: it runs per record). */
export function wasAnswered(answered: AnsweredPartitions, topic: string, message: Message): boolean {
  return answered.get(topic)?.has(partitionOf.get(message) ?? -1) ?? false;
}

/** kafkajs resolved a send that left some partitions without an answer (rule 3). Retriable. */
export class PartialAnswerError extends Error {
  readonly retriable = true;
  /** @param answered the partitions that did answer (`wasAnswered` tells a record's fate). */
  constructor(readonly answered: AnsweredPartitions, unanswered: number, total: number) {
    super(`kafkajs resolved the send without an answer for ${unanswered} of ${total} message(s) (their partition's leader moved mid-send)`);
    this.name = 'PartialAnswerError';
  }
}

/** Checks a resolved send against what was sent; throws PartialAnswerError when a record has no answer. */
function assertAnswered(batch: ProducerBatch, answer: readonly RecordMetadata[]): void {
  const answered = answeredPartitionsOf(answer);
  let total = 0;
  let missing = 0;
  for (const { topic, messages } of batch.topicMessages ?? []) {
    for (const m of messages) {
      total++;
      if (!wasAnswered(answered, topic, m)) missing++;
    }
  }
  if (missing > 0) throw new PartialAnswerError(answered, missing, total);
}

/** Whether `work` settled (either way) before `deadline` (epoch ms; Infinity waits). */
function settlesBy(work: Promise<unknown>, deadline: number): Promise<boolean> {
  return Number.isFinite(deadline) ? settlesWithin(work, Math.max(0, deadline - Date.now())) : work.then(() => true, () => true);
}

/** Connect failures during which some broker of the cluster did answer a request. */
const failedWithClusterAnswering = new WeakSet<object>();

/**
 * Whether a failed `IdempotentSender.connect()` had answers from the cluster: then a broker it
 * still lists is unreachable (killed, not yet fenced: kafkajs asks a random listed broker for
 * a producer id) and another attempt can succeed; otherwise no broker answered at all.
 */
export function clusterAnsweredDuring(connectFailure: unknown): boolean {
  return typeof connectFailure === 'object' && connectFailure !== null && failedWithClusterAnswering.has(connectFailure);
}

/** The producer settings the rules need; the caller's (retries, topic creation) come on top. */
export type SenderConfig = Omit<ProducerConfig, 'idempotent' | 'maxInFlightRequests' | 'createPartitioner' | 'transactionalId'>;

/**
 * An idempotent producer that follows the three rules: sends queue behind each other, a failed
 * or partly answered send throws (the caller retries) and the next send goes through a new
 * kafkajs producer.
 */
export class IdempotentSender {
  private producer: Promise<Producer> | undefined;
  /** The previous send, settled either way: the next one starts after it. */
  private tail: Promise<unknown> = Promise.resolve();
  /** Producers let go after a failure, disconnecting. */
  private readonly retiring = new Set<Promise<void>>();
  private closing = false;

  constructor(private readonly kafka: Kafka, private readonly config: SenderConfig = {}) {}

  /** Connects now (otherwise the first send does); a failed connect is forgotten so the next call tries again. */
  async connect(): Promise<void> {
    await this.current();
  }

  /** Resolves when every record has an answer from its partition (acks as the batch says). */
  send(batch: ProducerBatch): Promise<RecordMetadata[]> {
    if (this.closing) return Promise.reject(new Error('the Kafka producer is closed'));
    const run = this.tail.then(async () => {
      const producer = this.current();
      // A failed connect retires its producer itself (current()); a failed send retires it here.
      const connected = await producer;
      try {
        const answer = await connected.sendBatch(batch);
        assertAnswered(batch, answer);
        return answer;
      } catch (err) {
        this.retire(producer);
        throw err;
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Refuses new sends, waits for those already queued, then disconnects every producer it made
   * (kafkajs' own disconnect does not wait for sends). With a `deadline` (epoch ms) it waits no
   * longer: after a broker loss a kafkajs request can outlive what it carried; `onLate` names
   * what it stopped waiting for.
   */
  async close(deadline = Infinity, onLate: (what: string) => void = () => undefined): Promise<void> {
    this.closing = true;
    if (!(await settlesBy(this.tail, deadline))) onLate('in-flight Kafka requests');
    if (this.producer) this.retire(this.producer);
    if (!(await settlesBy(Promise.allSettled([...this.retiring]), deadline))) onLate('the disconnect');
  }

  private current(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({ ...this.config, idempotent: true, maxInFlightRequests: 1, createPartitioner: notingPartitioner });
      let answered = false;
      const stopListening = producer.on(producer.events.REQUEST, () => { answered = true; });
      const connected = producer.connect().then(
        () => { stopListening(); return producer; },
        (err: unknown) => {
          stopListening();
          if (answered && typeof err === 'object' && err !== null) failedWithClusterAnswering.add(err);
          throw err;
        },
      );
      this.producer = connected;
      // kafkajs keeps the sockets a failed connect opened: let them go.
      connected.catch(() => this.retire(connected, producer));
    }
    return this.producer;
  }

  private retire(connected: Promise<Producer>, unconnected?: Producer): void {
    if (this.producer === connected) this.producer = undefined;
    const disconnecting: Promise<void> = (unconnected ? Promise.resolve(unconnected) : connected)
      .then((p) => p.disconnect())
      .catch(() => undefined)
      .finally(() => this.retiring.delete(disconnecting));
    this.retiring.add(disconnecting);
  }
}
