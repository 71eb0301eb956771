/** Small kafkajs conveniences for integration tests and the bench. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Kafka, logLevel, type Admin, type IHeaders } from 'kafkajs';
import { defaultSchemaRegistry } from '../src/codec/schema-registry.js';
import { kindOf, type InsightEvent } from '../src/events/types.js';

/** A name no other test run uses: `<prefix>-<time>-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export function kafkaClient(brokers: string[], clientId = uniqueName('it')): Kafka {
  return new Kafka({ brokers, clientId, logLevel: logLevel.NOTHING });
}

/** Runs `work` with a connected admin client and disconnects it afterwards. */
export async function withAdmin<T>(brokers: string[], work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Creates `names` with one replica; waits until their metadata answers (on a cluster, other brokers learn of new topics a moment later). */
export async function createTopics(brokers: string[], names: string[], partitions = 3): Promise<void> {
  await withAdmin(brokers, async (admin) => {
    try {
      await admin.createTopics({ waitForLeaders: true, topics: names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
    } catch (err) {
      if ((err as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
    }
    for (let tries = 0; ; tries++) {
      try {
        await admin.fetchTopicMetadata({ topics: names });
        return;
      } catch (err) {
        if ((err as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION' || tries >= 40) throw err;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  });
}

export async function deleteTopics(brokers: string[], names: string[]): Promise<void> {
  if (names.length === 0) return;
  await withAdmin(brokers, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const topics = names.filter((n) => existing.has(n));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  });
}

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

export interface ReadAllOptions {
  /** Give up after this long (default 30 s): rejects with what was read so far in the message. */
  timeoutMs?: number;
  /** Wait until at least this many messages arrived (default: the end offsets at call time). */
  minMessages?: number;
}

/**
 * Every message of `topic` from the beginning up to its end offsets at call time (and at least
 * `minMessages`), sorted by partition then offset. Uses a throwaway consumer group.
 */
export async function readAll(brokers: string[], topic: string, options: ReadAllOptions = {}): Promise<ReadMessage[]> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const kafka = kafkaClient(brokers);
  const offsets = await withAdmin(brokers, (admin) => admin.fetchTopicOffsets(topic));
  const ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  const messages: ReadMessage[] = [];
  const next = new Map<number, bigint>();
  const min = options.minMessages ?? 0;
  const done = () =>
    messages.length >= min && [...ends].every(([p, high]) => high === 0n || (next.get(p) ?? 0n) >= high);
  if (done()) return messages;

  const consumer = kafka.consumer({ groupId: uniqueName('readall'), maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`readAll(${topic}): timed out after ${timeoutMs} ms with ${messages.length} message(s)`));
      }, timeoutMs);
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ topic: t, partition, message }) => {
            messages.push({
              topic: t,
              partition,
              offset: message.offset,
              timestamp: message.timestamp,
              key: message.key,
              value: message.value,
              headers: message.headers ?? {},
            });
            next.set(partition, BigInt(message.offset) + 1n);
            if (done()) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        });
    });
  } finally {
    await consumer.disconnect();
  }
  return messages.sort((a, b) =>
    a.partition !== b.partition ? a.partition - b.partition : Number(BigInt(a.offset) - BigInt(b.offset)),
  );
}

/**
 * The message a producer writes for an event (Avro single-object value, key = resourceId),
 * built without the producer's validation so tests can also put hostile events on a topic.
 */
export function encodedMessage(event: InsightEvent): { key: string; value: Buffer; headers: Record<string, string> } {
  const kind = kindOf(event);
  return { key: event.resourceId, value: defaultSchemaRegistry().encode(kind, event), headers: { kind } };
}

/** Writes events to a topic as raw encoded messages (acks all), `batchSize` per request. */
export async function publishEvents(brokers: string[], topic: string, events: InsightEvent[], batchSize = 1000): Promise<void> {
  const producer = kafkaClient(brokers).producer();
  await producer.connect();
  try {
    for (let i = 0; i < events.length; i += batchSize) {
      await producer.send({ topic, acks: -1, messages: events.slice(i, i + batchSize).map(encodedMessage) });
    }
  } finally {
    await producer.disconnect();
  }
}

const TOPIC_ROLES = ['audit', 'operational', 'deadletter', 'destinations'] as const;

/** A test's own topics, `<prefix>-audit` … `<prefix>-destinations`: for cleanup. */
export function privateTopics(prefix: string): string[] {
  return TOPIC_ROLES.map((role) => `${prefix}-${role}`);
}

/** The INSIGHT_LOGS_*_TOPIC variables naming a test's own topics, so a spawned CLI touches no default topic. */
export function privateTopicsEnv(prefix: string): Record<string, string> {
  return Object.fromEntries(TOPIC_ROLES.map((role) => [`INSIGHT_LOGS_${role.toUpperCase()}_TOPIC`, `${prefix}-${role}`]));
}

/**
 * Every message value of `topic` with read_committed, read with kcat: it stops at the end of
 * each partition, control records and aborted transactions included, which kafkajs consumers
 * cannot tell apart from "more to come" (so `readAll` would wait on a transactional topic).
 * Streams line by line (`onMessage(partition, value)`): the bench reads hundreds of MB this way.
 * Values must not contain newlines (JSON lines do not). A topic that does not exist holds nothing.
 */
export async function readCommittedWithKcat(brokers: string[], topic: string, onMessage: (partition: number, value: string) => void, timeoutMs = 600_000): Promise<void> {
  const child = spawn('kcat', ['-C', '-b', brokers.join(','), '-t', topic, '-o', 'beginning', '-e', '-q',
    '-X', 'isolation.level=read_committed', '-f', '%p\t%s\n'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  try {
    for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
      if (!line) continue;
      const tab = line.indexOf('\t');
      onMessage(Number(line.slice(0, tab)), line.slice(tab + 1));
    }
    const code = await exited;
    if (code !== 0 && !/Unknown topic or partition/.test(stderr)) throw new Error(`kcat reading ${topic} exited with ${code}: ${stderr.trim().slice(0, 500)}`);
  } finally {
    clearTimeout(timer);
  }
}
