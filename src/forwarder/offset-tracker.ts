/**
 * Which offset may be committed, per partition: the one after the longest prefix of fetched
 * records that are all done (delivered, dead-lettered or not for this destination). A record
 * still in flight holds back every later offset of its partition, whatever finished after it.
 * Pure bookkeeping, no Kafka.
 */

interface PartitionState {
  /** Fetched offsets not yet released, ascending. */
  pending: bigint[];
  done: Set<bigint>;
  /** Next offset to consume once everything fetched so far is done (last released + 1). */
  releasedUpTo: bigint | undefined;
  committed: bigint | undefined;
}

const keyOf = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export interface CommitCandidate {
  topic: string;
  partition: number;
  /** Next offset to consume, as Kafka expects in a commit. */
  offset: string;
}

export class OffsetTracker {
  private readonly partitions = new Map<string, PartitionState>();

  private state(topic: string, partition: number) {
    const key = keyOf(topic, partition);
    let s = this.partitions.get(key);
    if (!s) this.partitions.set(key, (s = { pending: [], done: new Set(), releasedUpTo: undefined, committed: undefined }));
    return s;
  }

  /**
   * Registers fetched offsets (ascending). `batchLastOffset` covers offsets Kafka skipped at
   * the end of a batch (transaction markers): once everything before it is done, it is too.
   */
  track(topic: string, partition: number, offsets: readonly string[], batchLastOffset?: string): void {
    const s = this.state(topic, partition);
    // Offsets at or below the highest one seen are refetches of records already tracked.
    const highest = (): bigint => (s.pending.length ? s.pending[s.pending.length - 1]! : (s.releasedUpTo ?? -1n) - 1n);
    for (const o of offsets) {
      const n = BigInt(o);
      if (n > highest()) s.pending.push(n);
    }
    if (batchLastOffset !== undefined) {
      const end = BigInt(batchLastOffset);
      if (end > highest()) {
        s.pending.push(end);
        s.done.add(end);
      }
    }
    this.release(s);
  }

  /** Marks records done; returns nothing, ask `committable` afterwards. */
  markDone(topic: string, partition: number, offsets: readonly string[]): void {
    const s = this.state(topic, partition);
    for (const o of offsets) s.done.add(BigInt(o));
    this.release(s);
  }

  private release(s: PartitionState): void {
    while (s.pending.length && s.done.has(s.pending[0]!)) {
      const o = s.pending.shift()!;
      s.done.delete(o);
      s.releasedUpTo = o + 1n;
    }
  }

  /** The offset to commit for a partition, or undefined when nothing new is committable. */
  committable(topic: string, partition: number): CommitCandidate | undefined {
    const s = this.partitions.get(keyOf(topic, partition));
    if (!s || s.releasedUpTo === undefined) return undefined;
    if (s.committed !== undefined && s.committed >= s.releasedUpTo) return undefined;
    return { topic, partition, offset: s.releasedUpTo.toString() };
  }

  /** What `committable` would return if `offsets` were done too (for commit-inside-transaction sinks). */
  committableIf(topic: string, partition: number, offsets: readonly string[]): CommitCandidate | undefined {
    const s = this.partitions.get(keyOf(topic, partition));
    if (!s) return undefined;
    const extra = new Set(offsets.map((o) => BigInt(o)));
    let upTo = s.releasedUpTo;
    for (const o of s.pending) {
      if (!s.done.has(o) && !extra.has(o)) break;
      upTo = o + 1n;
    }
    if (upTo === undefined || (s.committed !== undefined && s.committed >= upTo)) return undefined;
    return { topic, partition, offset: upTo.toString() };
  }

  markCommitted(topic: string, partition: number, offset: string): void {
    const s = this.state(topic, partition);
    const n = BigInt(offset);
    if (s.committed === undefined || n > s.committed) s.committed = n;
  }
}
