/**
 * Pure: sink records → Kafka messages (value = the record's JSON line, key = resourceId,
 * header `kind`, topic by category), and the bookkeeping exactly-once mode needs
 * (work grouped by source partition, transactional ids, skipping already-committed records).
 */
import { categoryName } from '../../events/routing.js';
import type { CategoryName } from '../../events/routing.js';
import type { OffsetCommit, SinkRecord } from '../sink.js';

export interface OutgoingMessage {
  topic: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

export interface TopicBatch {
  topic: string;
  messages: { key: string; value: string; headers: Record<string, string> }[];
}

export function toMessage(record: SinkRecord, topics: Readonly<Record<CategoryName, string>>): OutgoingMessage {
  const category = categoryName(record.event.category);
  return {
    topic: topics[category],
    // The resourceId keeps every event of one instance ordered on one partition, as on the source topics.
    key: record.event.resourceId,
    value: record.json,
    headers: { kind: record.kind, category },
  };
}

/** One entry per topic, messages in input order: the shape of one `sendBatch` call. */
export function groupByTopic(messages: readonly OutgoingMessage[]): TopicBatch[] {
  const byTopic = new Map<string, TopicBatch>();
  for (const { topic, ...message } of messages) {
    let batch = byTopic.get(topic);
    if (!batch) byTopic.set(topic, (batch = { topic, messages: [] }));
    batch.messages.push(message);
  }
  return [...byTopic.values()];
}

/** The two halves of a batch the broker refused as too large (the first half gets the extra item). */
export function splitInHalves<T>(items: readonly T[]): [T[], T[]] {
  const middle = Math.ceil(items.length / 2);
  return [items.slice(0, middle), items.slice(middle)];
}

/**
 * Bytes of JSON per produce request the sink aims under. The broker refuses a partition batch
 * above message.max.bytes (1 MiB by default) and keys spread unevenly over partitions, so a
 * large chunk sent at once was refused and halved, costing a wasted round trip every time.
 */
export const TARGET_SEND_BYTES = 512 * 1024;

/** Consecutive pieces of at most `maxBytes` of JSON (a bigger record travels alone), order kept. */
export function piecesOf(records: readonly SinkRecord[], maxBytes = TARGET_SEND_BYTES): SinkRecord[][] {
  const pieces: SinkRecord[][] = [];
  let current: SinkRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = r.json.length + r.event.resourceId.length;
    if (current.length > 0 && bytes + size > maxBytes) {
      pieces.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) pieces.push(current);
  return pieces;
}

/** Records and offsets of one source partition: the unit of one transaction. */
export interface PartitionWork {
  topic: string;
  partition: number;
  records: SinkRecord[];
  offsets: OffsetCommit[];
}

/**
 * Groups a batch and its offsets by source topic-partition, in order of first appearance.
 * A partition with offsets but no records (everything dead-lettered or filtered) still
 * gets its offsets committed.
 */
export function groupBySourcePartition(records: readonly SinkRecord[], offsets: readonly OffsetCommit[]): PartitionWork[] {
  const work = new Map<string, PartitionWork>();
  const entry = (topic: string, partition: number): PartitionWork => {
    const id = `${topic}\u0000${partition}`;
    let w = work.get(id);
    if (!w) work.set(id, (w = { topic, partition, records: [], offsets: [] }));
    return w;
  };
  for (const r of records) entry(r.topic, r.partition).records.push(r);
  for (const o of offsets) entry(o.topic, o.partition).offsets.push(o);
  return [...work.values()];
}

/**
 * One transactional id per destination and source partition. Whoever owns a source
 * partition (after a restart or a rebalance) uses the same id, so its first InitProducerId
 * fences the previous owner and aborts that owner's unfinished transaction.
 */
export function transactionalIdFor(prefix: string, destination: string, topic: string, partition: number): string {
  return `${prefix}.${destination}.${topic}-${partition}`;
}

/**
 * Drops what an earlier owner already committed: records below `committed` (the group's
 * next offset to consume) and offsets that would move the group backwards.
 */
export function withoutCommitted(work: PartitionWork, committed: bigint | undefined): PartitionWork {
  if (committed === undefined) return work;
  return {
    ...work,
    records: work.records.filter((r) => BigInt(r.offset) >= committed),
    offsets: work.offsets.filter((o) => BigInt(o.offset) > committed),
  };
}
