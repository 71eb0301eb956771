/**
 * Replication checks for `insight-logs status`: on a cluster of 3 brokers or more, an audit or
 * operational topic with fewer than 3 replicas or `min.insync.replicas` below 2 can lose an
 * event the producer saw acknowledged (acks=all then means "one copy"), and so can unclean
 * leader election (an out-of-date replica may become leader). The producer itself always sends
 * with acks=all and idempotence (src/producer/event-producer.ts); these topic settings are what
 * decides whether that acknowledgement survives a broker loss.
 */
import kafkajs, { type Admin } from 'kafkajs';
import { SAFE_MIN_INSYNC, SAFE_REPLICAS } from '../kafka/topics.js';

export interface TopicReplication {
  name: string;
  /** Fewest replicas of any partition. */
  replicas: number;
  /** `min.insync.replicas` of the topic (its own or the broker default). */
  minInsyncReplicas: number;
  uncleanLeaderElection: boolean;
}

/** The warnings for `topics` on a cluster of `brokers` (pure). */
export function replicationWarnings(brokers: number, topics: readonly TopicReplication[], env: NodeJS.ProcessEnv = {}): string[] {
  const warnings: string[] = [];
  if (brokers < SAFE_REPLICAS) return warnings;
  for (const t of topics) {
    if (t.replicas < SAFE_REPLICAS) {
      warnings.push(`${t.name} has ${t.replicas} replica(s) on a ${brokers}-broker cluster: acknowledged events are lost when ${t.replicas === 1 ? 'that broker dies' : 'those brokers die'}; recreate it with ${SAFE_REPLICAS} (or kafka-reassign-partitions)`);
    }
    if (t.minInsyncReplicas < SAFE_MIN_INSYNC) {
      warnings.push(`${t.name} has min.insync.replicas ${t.minInsyncReplicas}: the producer's acks=all is satisfied by one copy, lost with that broker; set it to ${SAFE_MIN_INSYNC} (kafka-configs --alter --add-config min.insync.replicas=${SAFE_MIN_INSYNC})`);
    }
    if (t.uncleanLeaderElection) {
      warnings.push(`${t.name} allows unclean leader election: a replica that missed acknowledged events can become leader; set unclean.leader.election.enable=false`);
    }
  }
  const factor = env.KAFKA_REPLICATION_FACTOR?.trim();
  if (factor && /^\d+$/.test(factor) && Number(factor) < SAFE_REPLICAS) {
    warnings.push(`KAFKA_REPLICATION_FACTOR=${factor}: topics created from here get fewer than ${SAFE_REPLICAS} replicas on a ${brokers}-broker cluster; unset it (default min(3, brokers))`);
  }
  return warnings;
}

/** Reads replicas, min.insync.replicas and unclean leader election of existing `topics`. */
export async function readReplication(admin: Admin, topics: readonly string[]): Promise<{ brokers: number; topics: TopicReplication[] }> {
  const { brokers } = await admin.describeCluster();
  if (topics.length === 0) return { brokers: brokers.length, topics: [] };
  const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: ['min.insync.replicas', 'unclean.leader.election.enable'] })),
  });
  const configOf = (topic: string, key: string): string | undefined =>
    configs.resources.find((r) => r.resourceName === topic)?.configEntries.find((e) => e.configName === key)?.configValue;
  return {
    brokers: brokers.length,
    topics: metadata.topics.map((t) => ({
      name: t.name,
      replicas: Math.min(...t.partitions.map((p) => p.replicas.length)),
      minInsyncReplicas: Number(configOf(t.name, 'min.insync.replicas') ?? 1),
      uncleanLeaderElection: configOf(t.name, 'unclean.leader.election.enable') === 'true',
    })),
  };
}
