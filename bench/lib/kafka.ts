/** Kafka conveniences for the bench: topics with settings, end offsets, group lag. */
import type { Admin } from 'kafkajs';
import { kafkaSettingsFromEnv, type KafkaSettings } from '../../src/kafka/client.js';
import { withAdmin } from '../../testkit/kafka.js';

/** Creates topics; `retentionMs` keeps long soak runs from filling the disk. */
export async function createBenchTopics(brokers: string[], topics: string[], partitions: number, retentionMs?: number): Promise<void> {
  const configEntries = retentionMs ? [{ name: 'retention.ms', value: String(retentionMs) }, { name: 'segment.ms', value: String(Math.max(10_000, retentionMs / 4)) }] : [];
  await withAdmin(brokers, (admin) => admin.createTopics({
    waitForLeaders: true,
    topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1, configEntries })),
  }));
}

/** Sum of the high watermarks of a topic (messages written, for a topic never truncated). */
export async function endOffsetSum(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high), 0);
}

/** Messages of `topic` not yet committed by `groupId`. */
export async function groupLag(admin: Admin, groupId: string, topic: string): Promise<number> {
  const highs = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  let lag = 0;
  for (const [partition, high] of highs) {
    const c = committed?.partitions.find((p) => p.partition === partition);
    const done = c && Number(c.offset) >= 0 ? Number(c.offset) : 0;
    lag += high - done;
  }
  return lag;
}

/**
 * Polls until `done()` is true; resolves the time it became true (ms since epoch) or rejects
 * after `timeoutMs`, naming `what` and the last progress value.
 */
export async function pollUntil(what: string, check: () => Promise<{ done: boolean; progress?: number | string }>, timeoutMs: number, everyMs = 200): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last: number | string | undefined;
  for (;;) {
    const { done, progress } = await check();
    last = progress;
    if (done) return Date.now();
    if (Date.now() > deadline) throw new Error(`${what}: not done after ${timeoutMs} ms (progress ${String(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Kafka settings for the project's own clients (EventProducer): the env defaults with these brokers. */
export function benchKafkaSettings(brokers: string[], runId: string): KafkaSettings {
  return { ...kafkaSettingsFromEnv({ ...process.env, KAFKA_BROKERS: brokers.join(',') }), clientId: `insight-logs-bench-${runId}` };
}
