/**
 * Offsets and consumer-group lag for the ops commands (`status`, `destinations list`), read
 * with the admin client only: nothing joins a group, so looking never disturbs a forwarder.
 */
import { AssignerProtocol, type Admin, type GroupDescription } from 'kafkajs';

export interface PartitionOffsets {
  partition: number;
  /** Oldest retained offset. */
  low: bigint;
  /** Next offset to be written (end offset). */
  high: bigint;
}

export interface TopicOffsets {
  topic: string;
  partitions: PartitionOffsets[];
  /** Messages written over the topic's life (sum of end offsets). */
  endTotal: bigint;
  /** Messages still retained (sum of high - low). */
  retained: bigint;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** Next offset the group will read; undefined when the group never committed there. */
  committed: bigint | undefined;
  high: bigint;
  /** Records the group still has to process (high - committed, or all retained when nothing is committed). */
  lag: bigint;
}

export interface GroupLag {
  groupId: string;
  /** Kafka's group state: Stable, Empty, PreparingRebalance, CompletingRebalance, Dead, Unknown. */
  state: string;
  members: number;
  partitions: PartitionLag[];
  totalLag: bigint;
  /** True when the group has committed at least one offset on these topics. */
  hasCommitted: boolean;
}

export async function topicOffsets(admin: Admin, topic: string): Promise<TopicOffsets> {
  const raw = await admin.fetchTopicOffsets(topic);
  const partitions = raw
    .map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }))
    .sort((a, b) => a.partition - b.partition);
  return {
    topic,
    partitions,
    endTotal: partitions.reduce((n, p) => n + p.high, 0n),
    retained: partitions.reduce((n, p) => n + (p.high - p.low), 0n),
  };
}

/** Offsets of the topics that exist; missing ones are left out (the caller reports them). */
export async function offsetsOfExisting(admin: Admin, topics: readonly string[]): Promise<{ found: Map<string, TopicOffsets>; missing: string[] }> {
  const existing = new Set(await admin.listTopics());
  const found = new Map<string, TopicOffsets>();
  const missing: string[] = [];
  for (const topic of topics) {
    if (existing.has(topic)) found.set(topic, await topicOffsets(admin, topic));
    else missing.push(topic);
  }
  return { found, missing };
}

/**
 * Records a group still has to read on one partition: from its committed offset to the end,
 * or from the oldest retained record when it never committed there (where a forwarder starts,
 * and all a consumer reading from the beginning really has to read). A committed offset below
 * the log start counts from the log start (the records between were deleted).
 */
export function partitionLag(p: Pick<PartitionOffsets, 'low' | 'high'>, committed: bigint | undefined): bigint {
  const from = committed === undefined || committed < p.low ? p.low : committed;
  return p.high > from ? p.high - from : 0n;
}

export type ConsumerLag = Pick<GroupLag, 'partitions' | 'totalLag' | 'hasCommitted'>;

/**
 * The lag of `groupId` on `groupTopics` (or, when not given, on the topics it committed on; all
 * of `offsets`' topics when it never committed), against the offsets in `offsets`. The one lag
 * computation: `status` and the forwarder's `insight_logs_consumer_lag_records` gauge both use it.
 */
export async function consumerLag(admin: Admin, groupId: string, offsets: ReadonlyMap<string, TopicOffsets>, groupTopics?: readonly string[]): Promise<ConsumerLag> {
  const topics = [...offsets.keys()];
  const committed = topics.length ? await admin.fetchOffsets({ groupId, topics }) : [];
  const committedOf = new Map<string, bigint>();
  for (const t of committed) {
    for (const p of t.partitions) {
      const offset = BigInt(p.offset);
      if (offset >= 0n) committedOf.set(`${t.topic}/${p.partition}`, offset);
    }
  }
  const committedTopics = new Set([...committedOf.keys()].map((k) => k.slice(0, k.lastIndexOf('/'))));
  const wanted = new Set(groupTopics ?? (committedTopics.size ? committedTopics : topics));
  const partitions: PartitionLag[] = [];
  for (const [topic, t] of offsets) {
    if (!wanted.has(topic)) continue;
    for (const p of t.partitions) {
      const done = committedOf.get(`${topic}/${p.partition}`);
      partitions.push({ topic, partition: p.partition, committed: done, high: p.high, lag: partitionLag(p, done) });
    }
  }
  return { partitions, totalLag: partitions.reduce((n, p) => n + p.lag, 0n), hasCommitted: committedOf.size > 0 };
}

/** The topics the members of a group subscribe to (from their join metadata); undefined when it has none or they cannot be read. */
function subscribedTopics(group: GroupDescription | undefined): string[] | undefined {
  if (!group?.members.length) return undefined;
  try {
    const topics = new Set<string>();
    for (const m of group.members) for (const t of AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.topics ?? []) topics.add(t);
    return topics.size ? [...topics] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * State and lag of `groupId` (see `consumerLag`); when `groupTopics` is not given and the group
 * has members, the topics they subscribe to.
 */
export async function groupLag(admin: Admin, groupId: string, offsets: ReadonlyMap<string, TopicOffsets>, groupTopics?: readonly string[]): Promise<GroupLag> {
  const described = await admin.describeGroups([groupId]);
  const group = described.groups[0];
  const lag = await consumerLag(admin, groupId, offsets, groupTopics ?? subscribedTopics(group));
  return { groupId, state: group?.state ?? 'Unknown', members: group?.members.length ?? 0, ...lag };
}

/** Consumer groups whose id starts with `prefix`, sorted. */
export async function groupsWithPrefix(admin: Admin, prefix: string): Promise<string[]> {
  const { groups } = await admin.listGroups();
  return groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix)).sort();
}

/** A group state in words an operator understands. */
export function describeGroupState(lag: Pick<GroupLag, 'state' | 'members' | 'hasCommitted'>): string {
  switch (lag.state) {
    case 'Stable': return `running (${lag.members} forwarder${lag.members === 1 ? '' : 's'})`;
    case 'PreparingRebalance':
    case 'CompletingRebalance': return 'rebalancing';
    case 'Empty':
    case 'Dead': return lag.hasCommitted ? 'stopped (no forwarder running)' : 'not started';
    default: return lag.state.toLowerCase();
  }
}
