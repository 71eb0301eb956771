/**
 * Reads a bounded slice of a topic: per partition from an offset up to the end offsets seen
 * when the read began, then stops. A throwaway consumer group that never commits, so reading
 * the dead-letter topic leaves every real group (and the replay bookkeeping) untouched.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { InsightLogsError } from '../errors.js';
import { withTimeout } from '../util/time.js';

export interface PartitionRange {
  partition: number;
  /** First offset to read. */
  from: bigint;
  /** Stop before this offset (the end offset when the read began). */
  to: bigint;
}

export interface ReadRangeOptions {
  kafka: Kafka;
  topic: string;
  ranges: readonly PartitionRange[];
  onMessage(partition: number, message: KafkaMessage): void;
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
}

/** Resolves once every range is read; rejects with DEADLINE_EXCEEDED after `timeoutMs`. */
export async function readRange(options: ReadRangeOptions): Promise<void> {
  const pending = options.ranges.filter((r) => r.to > r.from);
  if (pending.length === 0) return;
  const next = new Map(pending.map((r) => [r.partition, r.from]));
  const end = new Map(pending.map((r) => [r.partition, r.to]));
  const complete = (): boolean => [...end].every(([p, to]) => (next.get(p) ?? 0n) >= to);

  const consumer = options.kafka.consumer({ groupId: `insight-logs-ops-read.${randomBytes(6).toString('hex')}`, maxWaitTimeInMs: 200, allowAutoTopicCreation: false });
  let finish!: () => void;
  let fail!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => { finish = resolve; fail = reject; });
  consumer.on(consumer.events.CRASH, ({ payload }) => { if (!payload.restart) fail(payload.error); });
  const timeoutMs = options.timeoutMs ?? 60_000;
  const read = async (): Promise<void> => {
    await consumer.connect();
    await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const to = end.get(batch.partition);
        if (to === undefined) return;
        const from = next.get(batch.partition)!;
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset < from || offset >= to) continue;
          options.onMessage(batch.partition, message);
        }
        const last = BigInt(batch.lastOffset()) + 1n;
        if (last > from) next.set(batch.partition, last);
        if (complete()) finish();
      },
    });
    const idle = options.ranges.filter((r) => r.to <= r.from).map((r) => r.partition);
    if (idle.length) consumer.pause([{ topic: options.topic, partitions: idle }]);
    for (const r of pending) consumer.seek({ topic: options.topic, partition: r.partition, offset: r.from.toString() });
    await done;
  };
  try {
    await withTimeout(read(), timeoutMs, () => new InsightLogsError('DEADLINE_EXCEEDED', `reading ${options.topic} took longer than ${Math.round(timeoutMs / 1000)} s`));
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}
