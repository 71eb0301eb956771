/**
 * The one place topics are created (the forwarder, `topics ensure`, the destinations store, the
 * demo). Creates the project's topics when missing: the two category topics and the dead-letter
 * topic with N partitions, and the destinations topic with one compacted partition (it is a
 * keyed table of destination definitions, latest value wins). Idempotent: existing topics are
 * left alone, and a topic with fewer partitions than asked is reported, never shrunk or grown
 * behind the operator's back (adding partitions changes key → partition mapping).
 *
 * Replication: unless told otherwise (option or KAFKA_REPLICATION_FACTOR), topics get
 * min(3, brokers in the cluster) replicas, and `min.insync.replicas` 2 once they have 3 or
 * more, so an event acknowledged with acks=all sits on two brokers and survives the loss of
 * one. The broker's own `default.replication.factor` is not used: Kafka ships it at 1, the
 * setting that lost acknowledged events when a new user killed a partition leader on three
 * brokers. A single local node keeps working (factor 1, min.insync.replicas left alone).
 */
import type { Admin, ITopicConfig } from 'kafkajs';
import { InsightLogsError } from '../errors.js';
import type { TopicNames } from '../config/topic-names.js';
import { AUDIT_TOPIC, DEADLETTER_TOPIC, DESTINATIONS_TOPIC, OPERATIONAL_TOPIC } from '../events/routing.js';
import { silentLogger, type Logger } from '../logging.js';
import { createKafka, type KafkaSettings } from './client.js';

export interface EnsureTopicsOptions {
  /** Partitions of the audit, operational and dead-letter topics (default 3). */
  partitions?: number;
  /** Default: env KAFKA_REPLICATION_FACTOR, else min(3, brokers in the cluster). */
  replicationFactor?: number;
  /** `retention.ms` of the audit, operational and dead-letter topics; broker default when unset. */
  retentionMs?: number;
  /** Topic names; a name not given is the one in docs/design.md (see `topicNamesFromEnv` for INSIGHT_LOGS_*_TOPIC). */
  names?: Partial<TopicNames>;
  /** Only these of the four topics (default all). */
  only?: readonly (keyof TopicNames)[];
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
}

export interface TopicPlan {
  topic: string;
  partitions: number;
  configEntries: { name: string; value: string }[];
}

export interface TopicOutcome {
  topic: string;
  status: 'created' | 'existed';
  /** Partitions the topic has now. */
  partitions: number;
  /** Partitions asked for. */
  wantedPartitions: number;
  /** Set when an existing topic has fewer partitions than asked (left as is). */
  warning?: string;
}

export interface EnsureTopicsResult {
  topics: TopicOutcome[];
  created: string[];
  existed: string[];
}

export const DEFAULT_PARTITIONS = 3;

/** KAFKA_REPLICATION_FACTOR, validated; undefined when unset (the cluster decides: see `replicationFor`). */
export function replicationFactorFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.KAFKA_REPLICATION_FACTOR?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 32) {
    throw new InsightLogsError('CONFIG_INVALID', `KAFKA_REPLICATION_FACTOR: "${raw}" is not a replication factor (1-32)`);
  }
  return n;
}

/** Replicas that survive one broker loss with acks=all (two in sync), and the in-sync minimum that makes it so. */
export const SAFE_REPLICAS = 3;
export const SAFE_MIN_INSYNC = 2;

/**
 * The replication of new topics on a cluster of `brokers`: the factor asked for, or
 * min(3, brokers); `min.insync.replicas` 2 when the factor is 3 or more (with fewer replicas a
 * minimum of 2 would stop all writes when one broker is down), else the broker's default.
 */
export function replicationFor(brokers: number, requested?: number): { replicationFactor: number; minInsyncReplicas?: number } {
  const replicationFactor = requested ?? Math.max(1, Math.min(SAFE_REPLICAS, brokers));
  return replicationFactor >= SAFE_REPLICAS ? { replicationFactor, minInsyncReplicas: SAFE_MIN_INSYNC } : { replicationFactor };
}

/** What the project needs on the cluster; pure so it can be tested and printed. */
export function topicPlan(options: Pick<EnsureTopicsOptions, 'partitions' | 'retentionMs' | 'names' | 'only'> = {}): TopicPlan[] {
  const names: TopicNames = { audit: AUDIT_TOPIC, operational: OPERATIONAL_TOPIC, deadLetter: DEADLETTER_TOPIC, destinations: DESTINATIONS_TOPIC, ...options.names };
  const partitions = options.partitions ?? DEFAULT_PARTITIONS;
  if (!Number.isSafeInteger(partitions) || partitions < 1) {
    throw new InsightLogsError('CONFIG_INVALID', `partitions: ${partitions} is not a positive whole number`);
  }
  const retention = options.retentionMs === undefined ? [] : [{ name: 'retention.ms', value: String(options.retentionMs) }];
  const plans: Record<keyof TopicNames, TopicPlan> = {
    audit: { topic: names.audit, partitions, configEntries: retention },
    operational: { topic: names.operational, partitions, configEntries: retention },
    deadLetter: { topic: names.deadLetter, partitions, configEntries: retention },
    destinations: { topic: names.destinations, partitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
  };
  const roles = options.only ?? (['audit', 'operational', 'deadLetter', 'destinations'] as const);
  // Two roles given the same name are one topic.
  return roles.map((role) => plans[role]).filter((p, i, all) => all.findIndex((q) => q.topic === p.topic) === i);
}

/** A replication factor the cluster cannot honour is a setting to fix, not a Kafka outage. */
function clearCreateError(err: unknown, topics: ITopicConfig[], replicationFactor: number): unknown {
  const types = [(err as { type?: string }).type, ...((err as { errors?: { type?: string }[] }).errors ?? []).map((e) => e.type)];
  if (!types.includes('INVALID_REPLICATION_FACTOR')) return err;
  return new InsightLogsError(
    'CONFIG_INVALID',
    `creating ${topics.map((t) => t.topic).join(', ')}: the cluster refused replication factor ${replicationFactor} (more than its brokers?); set KAFKA_REPLICATION_FACTOR to at most the number of brokers`,
    { cause: err },
  );
}

/**
 * Topic metadata; right after a creation, a broker other than the controller may not know the
 * topics yet (UNKNOWN_TOPIC_OR_PARTITION for a few hundred ms on a three-broker cluster), so
 * then the question is asked again for up to 10 s.
 */
async function metadataOfNew(admin: Admin, topics: string[], justCreated: boolean): ReturnType<Admin['fetchTopicMetadata']> {
  const deadline = Date.now() + (justCreated ? 10_000 : 0);
  for (;;) {
    try {
      return await admin.fetchTopicMetadata({ topics });
    } catch (err) {
      if ((err as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION' || Date.now() >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

function isAdmin(target: Admin | KafkaSettings): target is Admin {
  return typeof (target as Admin).createTopics === 'function';
}

/**
 * Ensures the four topics (or `only` some of them) exist, created with the configured
 * replication factor. Pass a connected `Admin` (it stays connected) or settings
 * (a short-lived admin is created and disconnected).
 */
export async function ensureTopics(target: Admin | KafkaSettings, options: EnsureTopicsOptions = {}): Promise<EnsureTopicsResult> {
  const logger = options.logger ?? silentLogger;
  const requested = options.replicationFactor ?? replicationFactorFromEnv(options.env);
  const plan = topicPlan(options);
  const ownAdmin = isAdmin(target) ? undefined : createKafka(target, logger).admin();
  const admin = ownAdmin ?? (target as Admin);
  if (ownAdmin) await ownAdmin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const toCreate = plan.filter((p) => !existing.has(p.topic));
    // The broker count matters only when something is created and no factor was given.
    const brokers = toCreate.length > 0 && requested === undefined ? (await admin.describeCluster()).brokers.length : 0;
    const { replicationFactor, minInsyncReplicas } = replicationFor(brokers, requested);
    const minInsync = minInsyncReplicas === undefined ? [] : [{ name: 'min.insync.replicas', value: String(minInsyncReplicas) }];
    const missing: ITopicConfig[] = toCreate
      .map((p) => ({ topic: p.topic, numPartitions: p.partitions, replicationFactor, configEntries: [...p.configEntries, ...minInsync] }));
    const created = new Set<string>();
    if (missing.length > 0) {
      try {
        await admin.createTopics({ topics: missing, waitForLeaders: true });
      } catch (err) {
        // Another process may have created some of them meanwhile: that is success too. And
        // kafkajs' wait for leaders asks any broker, which on a cluster may not know the new
        // topics yet (UNKNOWN_TOPIC_OR_PARTITION): created all the same, metadataOfNew waits.
        const type = (err as { type?: string }).type;
        if (type !== 'TOPIC_ALREADY_EXISTS' && type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw clearCreateError(err, missing, replicationFactor);
      }
      for (const t of missing) created.add(t.topic);
    }
    const metadata = await metadataOfNew(admin, plan.map((p) => p.topic), created.size > 0);
    const partitionsOf = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
    const topics = plan.map((p): TopicOutcome => {
      const partitions = partitionsOf.get(p.topic) ?? 0;
      const outcome: TopicOutcome = { topic: p.topic, status: created.has(p.topic) ? 'created' : 'existed', partitions, wantedPartitions: p.partitions };
      if (partitions < p.partitions) {
        outcome.warning = `${p.topic} has ${partitions} partition(s), fewer than the ${p.partitions} asked; left as is (add partitions with kafka-topics --alter if you mean it)`;
        logger.warn({ topic: p.topic, partitions, wanted: p.partitions }, 'topic has fewer partitions than asked');
      }
      return outcome;
    });
    return {
      topics,
      created: topics.filter((t) => t.status === 'created').map((t) => t.topic),
      existed: topics.filter((t) => t.status === 'existed').map((t) => t.topic),
    };
  } finally {
    if (ownAdmin) await ownAdmin.disconnect();
  }
}
